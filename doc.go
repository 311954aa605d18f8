// Package yubin is the map of a Go SDK of mail-server building blocks: the
// parts that Postfix and Dovecot give a Linux mail host, as independent
// packages that a Go program imports and composes.
//
// The packages:
//
//	store        the contract between protocols and mailbox formats: mailboxes,
//	             messages, UIDs, flags, modseqs, quota, change notification;
//	             store/storetest is the conformance suite every format passes
//	maildir      Maildir++ exactly as Dovecot 2.3 keeps it (dovecot-uidlist,
//	             dovecot-keywords, subscriptions), implementing store
//	auth         password schemes ({SHA512-CRYPT} and friends), passdb/userdb
//	             (passwd-file, static, system), SASL mechanisms, Dovecot's
//	             auth-client protocol
//	restrict     Postfix smtpd policy: restriction lists, lookup tables,
//	             address classes, header/body checks, anvil limits
//	smtp         SMTP server (ports 25, 587, 465) and client
//	lmtp         LMTP server delivering into a store, and client
//	imap         IMAP4rev2/IMAP4rev1 server over store
//	pop3         POP3 server over store
//
// How they compose: an SMTP server asks restrict at each stage and auth for
// AUTH, and hands accepted mail to a handler that delivers it (directly into
// a store, or over LMTP). The LMTP server looks the recipient up in an auth
// UserDB and appends into that user's store. IMAP and POP3 authenticate
// through auth and read and change the same store, and store's change
// notifications keep concurrent sessions in step. examples/fullserver wires
// all of it into one mail host.
package yubin
