package main

import (
	"sort"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/restrict"
)

// compatParams are accepted so that main.cf and dovecot.conf lines from
// existing Postfix and Dovecot setups (the seeds among them) load, but
// have no effect here; the text says why. "fullserver check" warns
// about each one that is set, as postconf warns about an unused
// parameter. TestEveryParameterIsRead fails for a parameter that is
// neither read nor listed here, and for one listed here that something
// reads: when you implement one, delete its line.
var compatParams = map[string]string{
	"alias_database":                   "newaliases' output; alias_maps is read directly",
	"allow_mail_to_commands":           "delivery to commands is not supported: such aliases are refused",
	"allow_mail_to_files":              "delivery to files is not supported: such aliases are refused",
	"append_dot_mydomain":              "addresses are not rewritten with .$mydomain",
	"broken_sasl_auth_clients":         "the obsolete \"AUTH=\" EHLO line is never sent",
	"expand_owner_alias":               "owner- aliases are not expanded for the envelope sender",
	"smtp_tls_loglevel":                "TLS sessions are logged at one fixed level",
	"smtpd_tls_loglevel":               "TLS sessions are logged at one fixed level",
	"smtp_tls_note_starttls_offer":     "STARTTLS offers are not logged",
	"smtpd_etrn_restrictions":          "ETRN is not supported",
	"smtpd_peername_lookup":            "client names are never looked up (as with Postfix's smtpd_peername_lookup = no)",
	"smtpd_reject_footer":              "reject replies carry no footer",
	"smtpd_sasl_local_domain":          "user names are used as the client sends them (auth_username_format normalises them)",
	"smtpd_sasl_path":                  "SMTP AUTH is answered in-process from passdb, not over a socket",
	"smtpd_sasl_type":                  "SMTP AUTH is answered in-process from passdb (as with dovecot)",
	"unverified_recipient_reject_code": "address verification (reject_unverified_recipient) is not supported",
	"unverified_sender_reject_code":    "address verification (reject_unverified_sender) is not supported",
}

// markCompat marks the compatParams in byName, their reasons as Doc.
func markCompat(byName map[string]config.Param) {
	for name, why := range compatParams {
		p, ok := byName[name]
		if !ok {
			panic("compatParams: " + name + " is not declared")
		}
		p.Compat = true
		p.Doc = why
		byName[name] = p
	}
}

// byReference are restrict's parameters that no code reads by name:
// they take effect only where another value refers to them
// (mydestination = $myhostname, localhost.$mydomain). newPolicy does
// not count them as read by themselves, so check warns about one that
// is set while nothing refers to it.
var byReference = map[string]bool{
	"mydomain":               true,
	"reject_tempfail_action": true,
	"virtual_maps":           true,
}

// restrictReads returns the parameters of s that restrict reads by name
// (those it has defaults for, byReference and Compat ones aside):
// newPolicy hands their values to restrict and records them as read.
func restrictReads(s *config.Schema) []string {
	var out []string
	for name := range restrict.DefaultParams() {
		if p, ok := s.Lookup(name); ok && !p.Compat && !p.Runtime && !byReference[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
