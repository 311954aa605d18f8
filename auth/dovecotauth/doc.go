// Package dovecotauth speaks Dovecot's authentication protocols.
//
// [Server] implements the server side of the auth-client protocol (the
// "auth" / "auth-client" UNIX socket that Postfix uses with
// smtpd_sasl_type = dovecot, and Dovecot's login processes use), on top of
// an auth.Authenticator such as *auth.Service, and the auth-master /
// auth-userdb protocol (USER, LIST) on top of an auth.UserDB, so that
// Postfix, Dovecot's LMTP/LDA or doveadm can use yubin's users.
//
// [Client] is the client side of the auth-client protocol and implements
// auth.Authenticator, so yubin's protocol servers can authenticate
// against a running Dovecot; [MasterClient] implements auth.UserDB over
// Dovecot's auth-userdb socket, for delivery.
//
// The protocol is described in ../../../shared/FORMATS.md section 6 and
// in Dovecot's documentation ("Authentication Protocol"); lines are
// TAB-separated, values tab-escaped (\x01 followed by 0, 1, t, r or n),
// SASL data standard base64.
//
// # Implementation notes
//
// Each AUTH request runs in its own goroutine, so the failure delay of
// one request does not hold up the others on the same connection;
// replies are matched by id, as in Dovecot. PLAIN with an initial
// response starts on the goroutine reading the connection, which it
// hands on to another before anything may wait (auth.WithBlocking), so
// a login the auth cache answers costs no hand-off. CONT lines are routed to the
// request's goroutine through a one-slot channel; a CONT that arrives
// while the server is still working on the previous step fails the
// request. CANCEL cancels the request's context and is not answered. An
// AUTH for a mechanism that was not advertised, a duplicate id or a line
// longer than MaxLine closes the connection, as Dovecot does. The
// "secured" parameter marks the connection as TLS-protected for the
// plaintext policy, and so does the absence of "rip" (a local tool such
// as doveadm on the UNIX socket); channel-binding mechanisms (-PLUS) and EXTERNAL are
// not offered on this socket because the TLS session is not available.
package dovecotauth
