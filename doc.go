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
//	sdbox, mbox  Dovecot's single-dbox, and mbox as Dovecot and Postfix's
//	             local(8) share it, implementing store
//	pgstore      store on PostgreSQL, for many stateless servers; message
//	             bodies behind blob (in PostgreSQL, or S3 with blob/s3blob)
//	replicate    two-way replication of users' mailboxes between two servers
//	auth         password schemes ({SHA512-CRYPT} and friends), passdb/userdb
//	             (passwd-file, static, system, PAM with the pam build tag),
//	             SASL mechanisms, login policy; auth/sqldb and auth/ldap for
//	             Dovecot's SQL and LDAP databases
//	auth/authn   the contract protocol servers hold (Authenticator, UserDB,
//	             errors), without the password schemes
//	auth/privsep password databases in a worker process that keeps
//	             privileges (PAM as root) while the server drops them
//	auth/dovecotauth
//	             Dovecot's auth-client and auth-master protocols: a server
//	             for Postfix's smtpd_sasl_type = dovecot, and a client
//	restrict     Postfix smtpd policy: restriction lists, address classes,
//	             alias expansion, header/body checks, anvil limits
//	restrict/table
//	             Postfix lookup tables (texthash, hash, cidr, regexp, pcre,
//	             static, inline) and aliases(5) files; ldap:, mysql: and
//	             pgsql: in ldaptable, mysqltable and pgsqltable
//	msgauth      DKIM, SPF, DMARC and ARC, Authentication-Results
//	tlspolicy    outbound DANE, MTA-STS and TLS-RPT
//	queue        the durable outbound queue and its delivery agents
//	sieve        the Sieve language; sieve/managesieve the ManageSieve server
//	smtp         SMTP server (ports 25, 587, 465) and client
//	lmtp         LMTP server delivering into a store, and client
//	imap         IMAP4rev2/IMAP4rev1 server over store
//	imap/imapmsg MIME structure, ENVELOPE/BODYSTRUCTURE, sections and SEARCH
//	             matching of stored messages, cached per message
//	pop3         POP3 server over store
//	config       main.cf-syntax configuration files with $name expansion and
//	             file:line errors, and dovecot.conf in Dovecot's syntax
//
// How they compose: an SMTP server asks restrict at each stage and auth for
// AUTH, and hands accepted mail to a handler that delivers it (directly into
// a store, or over LMTP). The LMTP server looks the recipient up in an auth
// UserDB and appends into that user's store. IMAP and POP3 authenticate
// through auth and read and change the same store, and store's change
// notifications keep concurrent sessions in step. examples/fullserver wires
// all of it into one mail host.
package yubin
