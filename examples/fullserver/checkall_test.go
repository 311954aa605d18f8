package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckReportsAllErrorsAtOnce: a missing TLS file no longer hides the
// problems behind it; check names each at its file:line.
func TestCheckReportsAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("bad line without colon\nalice@example.jp:{PLAIN}x\n"), 0o600)
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\n"+
		"smtpd_tls_cert_file = "+dir+"/nocert.pem\n"+
		"smtpd_tls_key_file = "+dir+"/nokey.pem\n"+
		"ssl_cert = /etc/ssl/certs/mail.pem\n"+
		"passdb = passwd-file:"+dir+"/passwd\n"+
		"smtpd_sender_restrictions = check_sender_access hash:"+dir+"/nosuch\n"), 0o644)
	code, _, stderr := runCmd(t, "", "-config", cf, "check")
	if code != 1 {
		t.Fatalf("check: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		cf + `:4: ssl_cert = /etc/ssl/certs/mail.pem: a file is written "ssl_cert = </etc/ssl/certs/mail.pem"`,
		cf + ":3: TLS key " + dir + "/nokey.pem: no such file",
		dir + `/passwd:1: user name "bad line without colon"`,
		cf + ":6: smtpd_sender_restrictions: element 2",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q:\n%s", want, stderr)
		}
	}
}
