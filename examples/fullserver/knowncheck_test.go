package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCheckAcceptsDebianStockMainCF: the main.cf Debian's postfix
// package installs (/usr/share/postfix/main.cf.debian with
// main.cf.tls appended, as its postinst does; the snakeoil certificate
// swapped for one of the test's own) passes check, alone and with what
// the postinst adds: each setting of a Postfix name yubin does not
// implement gets a warning at file:line, nothing is refused.
func TestCheckAcceptsDebianStockMainCF(t *testing.T) {
	t.Parallel()
	var stock []byte
	for _, f := range []string{"/usr/share/postfix/main.cf.debian", "/usr/share/postfix/main.cf.tls"} {
		b, err := os.ReadFile(f)
		if err != nil {
			testutil.Unavailable(t, "Debian's stock main.cf: %v (install postfix)", err)
		}
		stock = append(stock, b...)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, makeSelfSigned(cert, key, "mx.example.jp"))
	text := strings.NewReplacer("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert, "/etc/ssl/private/ssl-cert-snakeoil.key", key).Replace(string(stock))
	cf := filepath.Join(dir, "main.cf")
	require.NoError(t, os.WriteFile(cf, []byte(text), 0o644))
	lineOf := func(prefix string) int {
		for i, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("the stock main.cf has no %q line", prefix)
		return 0
	}

	code, stdout, stderr := runCmd(t, "", "-config", cf, "-data", filepath.Join(dir, "data"), "check")
	require.Equal(t, 0, code, "check refused Debian's main.cf:\n%s", stderr)
	assert.NotContains(t, stderr, "unknown parameter")
	wantUnused(t, stderr, "biff", "readme_directory", "compatibility_level", "append_dot_mydomain", "smtp_tls_session_cache_database")
	for _, n := range []string{"biff", "readme_directory", "compatibility_level", "smtp_tls_session_cache_database"} {
		assert.Regexp(t, `(?m)^fullserver: warning: `+regexp.QuoteMeta(cf)+`:`+strconv.Itoa(lineOf(n))+`: `+n+` = .*: unused parameter \(accepted; has no effect in yubin: a Postfix 3\.7 setting it does not implement\)$`, stderr)
	}
	assert.Equal(t, cf+": configuration usable, but 5 setting(s) have no effect (see the warnings)\n", stdout)

	// As installed: what the postinst then sets with postconf -e for
	// an "Internet Site" (mynetworks with the IPv4-mapped loopback).
	text += `smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = mx.example.jp
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = /etc/mailname
mydestination = $myhostname, mx.example.jp, localhost.example.jp, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
`
	require.NoError(t, os.WriteFile(cf, []byte(text), 0o644))
	code, stdout, stderr = runCmd(t, "", "-config", cf, "-data", filepath.Join(dir, "data"), "check")
	require.Equal(t, 0, code, "check refused Debian's main.cf as installed:\n%s", stderr)
	wantUnused(t, stderr, "biff", "readme_directory", "compatibility_level", "append_dot_mydomain", "smtp_tls_session_cache_database", "alias_database")
	// myorigin = /etc/mailname: without that file (not written on this
	// machine by Debian's installer) check says so and uses $myhostname.
	n := 6
	if _, err := os.Stat("/etc/mailname"); err != nil {
		n++
		assert.Contains(t, stderr, "main.cf:40: myorigin = /etc/mailname: no such file; using $myhostname (mx.example.jp)")
	}
	assert.Equal(t, cf+fmt.Sprintf(": configuration usable, but %d setting(s) have no effect (see the warnings)\n", n), stdout)
}

// TestCheckRefusesMisspeltKnownName: a name neither yubin nor Postfix
// nor Dovecot knows is still refused with file:line and the nearest
// name, a Postfix or Dovecot one included; a Dovecot name yubin does
// not implement, and a Postfix per-transport name of a transport yubin
// does not have (dovecot_destination_recipient_limit, from Dovecot's
// LDA setup), are accepted with a warning naming the program.
func TestCheckRefusesMisspeltKnownName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	require.NoError(t, os.WriteFile(cf, []byte("biff = no\nreadme_directroy = no\nmydestinaton = localhost\nfirst_valid_uid = 1000\n"), 0o644))
	code, _, stderr := runCmd(t, "", "-config", cf, "-data", filepath.Join(dir, "data"), "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, cf+`:2: unknown parameter "readme_directroy" (did you mean "readme_directory"?)`)
	assert.Contains(t, stderr, cf+`:3: unknown parameter "mydestinaton" (did you mean "mydestination"?)`)
	assert.NotContains(t, stderr, `"biff"`)
	assert.NotContains(t, stderr, `"first_valid_uid"`)

	require.NoError(t, os.WriteFile(cf, []byte("first_valid_uid = 1000\ndovecot_destination_recipient_limit = 1\n"), 0o644))
	code, _, stderr = runCmd(t, "", "-config", cf, "-data", filepath.Join(dir, "data"), "check")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, cf+":1: first_valid_uid = 1000: unused parameter (accepted; has no effect in yubin: a Dovecot 2.3 setting it does not implement)")
	assert.Contains(t, stderr, cf+":2: dovecot_destination_recipient_limit = 1: unused parameter (accepted; has no effect in yubin: a Postfix 3.7 setting it does not implement)")
}

// TestKnownParamsExpand: $config_directory and $readme_directory, which
// yubin does not implement, expand to Postfix's defaults (or to their
// setting in the file) where an implemented parameter refers to them,
// and a name yubin implements keeps yubin's default.
func TestKnownParamsExpand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := auditParse(dir, "alias_maps = texthash:$config_directory/aliases\nsmtpd_banner = $myhostname ESMTP $readme_directory\nreadme_directory = no\n")
	require.NoError(t, err)
	assert.Equal(t, "texthash:/etc/postfix/aliases", c.Get("alias_maps"))
	assert.Equal(t, "localhost ESMTP no", c.Get("smtpd_banner"))
	assert.Equal(t, "localhost", c.Get("myhostname"))
	assert.Equal(t, filepath.Join(dir, "data"), c.Get("data_directory"))
}
