// Package config reads configuration files in Postfix's main.cf syntax, the
// one format an administrator who has run Postfix and Dovecot already knows,
// and checks them against a schema of known parameters.
//
// # Syntax
//
// The syntax is that of postconf(5):
//
//	# a comment: '#' as the first non-blank character of a line
//	myhostname = mail.example.jp
//	mydestination = $myhostname, localhost.$mydomain, localhost
//	smtpd_recipient_restrictions =
//	    permit_mynetworks,
//	    reject_unauth_destination
//
// A logical line starts with non-blank text; a line that starts with white
// space continues the previous logical line (the pieces are joined with one
// space). Empty and blank lines end nothing and are ignored, as in Postfix.
// White space around '=' and at the ends of a value is removed. A '#' after
// other text is part of the value, as in Postfix. A parameter given twice
// takes the last value.
//
// Values may refer to other parameters as $name, ${name} or $(name), and
// Postfix's conditional forms ${name?text} (text when name is non-empty)
// and ${name:text} (text when name is empty) are understood; "$$" is a
// literal dollar sign. Expansion happens when a value is read, so the order
// of lines does not matter, and recursion is bounded.
//
// Dovecot's "<file" value form is understood by [Config.Contents]: a value
// "</etc/ssl/certs/mail.pem" stands for the contents of that file
// (ssl_cert = </etc/ssl/certs/mail.pem).
//
// # Dovecot's syntax
//
// [LoadDovecot] and [ParseDovecot] read a dovecot.conf in Dovecot 2.3's
// own syntax, with sections ("service imap-login {", "passdb {"),
// "!include" and "!include_try" globs, quoting, a trailing backslash continuing a line,
// "<file" values and "$key" self-references, into a tree of
// [DovecotSection]s. Mapping the tree to a program's parameters is the
// program's business; [Schema.ParseOver] then loads a main.cf on top of
// the settings that came from it.
//
// # Per-service overrides
//
// Postfix's master.cf overrides main.cf parameters for one service with
// "-o name=value". Here the same thing is written in the file itself with
// the service name in front of the parameter, in the notation
// "postconf -P" uses for master.cf parameters (the middle "inet"/"unix"
// type is optional):
//
//	submission/smtpd_sasl_auth_enable = yes
//	submission/inet/smtpd_recipient_restrictions = permit_sasl_authenticated, reject
//
// [Config.Service] returns the view one service sees: its overrides on top
// of the global settings. Services must be declared in the [Schema].
//
// # Settings without effect
//
// A program that builds its servers from a view made with
// [Config.WithReadLog] learns which parameters it read;
// [ReadLog.Unused] then lists the settings of the file that nothing
// read, those of parameters the schema marks [Param.Compat] (accepted so
// that existing files load, without effect), and "service/name"
// overrides for a service that never reads the parameter, so that a
// check command can warn about them instead of passing them in silence.
// A parameter marked [Param.Defines] lists names the file defines as
// parameters of its own (Postfix's smtpd_restriction_classes).
//
// # Errors
//
// Every problem is reported with the file name and line number
// ("main.cf:12: unknown parameter \"mydestinaton\" (did you mean
// \"mydestination\"?)"), the way "postfix check" does, and all problems of
// a file are reported at once as an [ErrorList].
//
// # Implementation notes
//
// A [Config] is immutable after [Schema.Load] or [Schema.Parse] and safe
// for concurrent use. Reloading (SIGHUP) means loading a new Config and
// swapping it in. Lines are limited to [MaxLineLength] bytes and a file to
// [MaxFileSize] bytes so that a hostile or corrupt file cannot exhaust
// memory.
package config
