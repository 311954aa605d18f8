// Package authn is the contract between yubin's protocol servers (smtp,
// imap, pop3, lmtp, managesieve) and authentication: the Authenticator a
// server holds and its SASL sessions, the connection facts it passes
// (ConnInfo), the Identity it gets back, the UserDB that delivery asks,
// and the errors a server turns into replies (ErrTempFail is
// "[UNAVAILABLE]" or "454 4.7.0", never a wrong password).
//
// It defines types, interfaces and errors only and links no password
// scheme: package auth implements them (passwd-file, SQL, LDAP and PAM
// passdbs, SASL mechanisms, Dovecot's password schemes) and gives every
// name here again under auth, as the same types.
package authn
