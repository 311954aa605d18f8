// Package auth authenticates mail users: password schemes, passdb and
// userdb backends, SASL server mechanisms and Dovecot's auth protocol.
package auth
