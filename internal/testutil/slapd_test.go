package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSlapdFixture starts the shared slapd and reads it with ldapsearch
// over LDAPI, over LDAP with StartTLS and over LDAPS, trusting only the
// fixture's CA: the directory holds the users, and TLS verifies.
func TestSlapdFixture(t *testing.T) {
	s := SharedSlapd(t)
	bin := RequireBinary(t, "ldapsearch")
	search := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-x", "-LLL", "-o", "nettimeout=5"}, args...)...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %v: %v: %s\nslapd: %s", args, err, out, s.Output())
		}
		return string(out)
	}
	out := search(nil, "-H", s.LDAPIURL, "-b", SlapdBase, "(uid=alice)", "homeDirectory")
	if !strings.Contains(out, "homeDirectory: /home/alice") {
		t.Errorf("ldapi search: %s", out)
	}
	tlsEnv := []string{"LDAPTLS_CACERT=" + s.CAFile, "LDAPTLS_REQCERT=hard"}
	out = search(tlsEnv, "-ZZ", "-H", s.LDAPURL, "-D", SlapdServiceDN, "-w", SlapdServicePW, "-b", SlapdBase, "(uid=bob)", "userPassword")
	if !strings.Contains(out, "userPassword:: ") { // base64: the service account reads it
		t.Errorf("StartTLS search as the service account: %s", out)
	}
	out = search(tlsEnv, "-H", s.LDAPSURL, "-b", SlapdBase, "(uid=dup)", "dn")
	if strings.Count(out, "dn: ") != 2 {
		t.Errorf("ldaps search for dup: want 2 entries: %s", out)
	}
	if strings.Contains(search(nil, "-H", s.LDAPURL, "-b", SlapdBase, "(uid=bob)", "userPassword"), "userPassword") {
		t.Error("anonymous search reads userPassword")
	}
	// A certificate the client does not trust is refused.
	cmd := exec.Command(bin, "-x", "-H", s.LDAPSURL, "-b", SlapdBase, "(uid=bob)", "-o", "nettimeout=5")
	cmd.Env = append(cmd.Environ(), "LDAPTLS_CACERT=/dev/null", "LDAPTLS_REQCERT=hard")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("ldaps without the CA succeeded: %s", out)
	}
}
