package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// unusedLine is a warning of "fullserver check" about a setting with no
// effect: "fullserver: warning: main.cf:3: name = value: unused parameter (why)".
var unusedLine = regexp.MustCompile(`(?m)^fullserver: warning: \S+: (\S+) = .*: unused parameter \(.+\)$`)

// wantUnused fails unless the warnings in stderr name exactly keys
// (in any order).
func wantUnused(t *testing.T, stderr string, keys ...string) {
	t.Helper()
	var got []string
	for _, m := range unusedLine.FindAllStringSubmatch(stderr, -1) {
		got = append(got, m[1])
	}
	slices.Sort(got)
	keys = slices.Clone(keys)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("check warned about %q, want %q:\n%s", got, keys, stderr)
	}
}

// TestCheckWarnsAboutSettingsWithoutEffect: check names, with file:line,
// a compat parameter that is set (as postconf warns "unused
// parameter"), a variable nothing refers to, and an override for a
// service that never reads the parameter; it still exits 0, but does
// not say "configuration OK". Without such settings it does.
func TestCheckWarnsAboutSettingsWithoutEffect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(`data_directory = `+dir+`/data
myhostname = mx.example.jp
broken_sasl_auth_clients = yes
mydomain = example.jp
imap/smtpd_banner = $myhostname IMAP
submission/smtpd_banner = $myhostname ESMTP submission
smtpd_peername_lookup = yes
`), 0o644)
	code, stdout, stderr := runCmd(t, "", "-config", cf, "check")
	if code != 0 {
		t.Fatalf("check exit %d:\n%s", code, stderr)
	}
	wantUnused(t, stderr, "broken_sasl_auth_clients", "mydomain", "imap/smtpd_banner", "smtpd_peername_lookup")
	for _, want := range []string{
		cf + ":3: broken_sasl_auth_clients = yes: unused parameter (accepted for compatibility, without effect: the obsolete \"AUTH=\" EHLO line is never sent)",
		cf + ":4: mydomain = example.jp: unused parameter (nothing in this server reads it)",
		cf + ":5: imap/smtpd_banner = $myhostname IMAP: unused parameter (the imap service does not use it)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != cf+": configuration usable, but 4 setting(s) have no effect (see the warnings)\n" {
		t.Errorf("stdout = %q", stdout)
	}

	// mydomain referred to, the rest gone: a plain OK, no warnings.
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nmydomain = example.jp\nmyorigin = $mydomain\nsubmission/smtpd_banner = $myhostname ESMTP submission\n"), 0o644)
	code, stdout, stderr = runCmd(t, "", "-config", cf, "check")
	if code != 0 || stdout != cf+": configuration OK\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCheckAcceptsSeedDovecotSettings: the dovecot.conf settings of
// seeds 000, 002 and 003 that this host shares with Dovecot (Maildir
// under the home, protocols, plaintext auth, the certificate as
// "<file", mechanisms, POP3 UIDLs) pass check and all take effect: no
// warning.
func TestCheckAcceptsSeedDovecotSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "dovecot.pem"), filepath.Join(dir, "dovecot.key")
	if err := makeSelfSigned(cert, key, "mail.example.jp"); err != nil {
		t.Fatal(err)
	}
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(`data_directory = `+dir+`/data
# seed 000
mail_location = maildir:~/Maildir
protocols = imap pop3
disable_plaintext_auth = no
pop3_uidl_format = %08Xu%08Xv
# seed 002 and 003
ssl_cert = <`+cert+`
ssl_key = <`+key+`
auth_mechanisms = plain login
`), 0o644)
	code, stdout, stderr := runCmd(t, "", "-config", cf, "check")
	if code != 0 || stdout != cf+": configuration OK\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
