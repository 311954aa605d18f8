package auth

import (
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dovecotSchemes are the schemes "doveadm pw -l" lists in Dovecot 2.3.19
// that yubin implements (DES-CRYPT is not: Debian's libxcrypt cannot
// verify it either, so "doveadm pw -s DES-CRYPT" fails its own check).
var dovecotSchemes = []string{
	"SHA1", "SSHA512", "SCRAM-SHA-256", "BLF-CRYPT", "PLAIN", "HMAC-MD5", "SHA512", "SHA",
	"CRYPT", "SSHA", "MD5-CRYPT", "PLAIN-MD4", "PLAIN-MD5", "SCRAM-SHA-1", "SHA512-CRYPT",
	"CLEAR", "CLEARTEXT", "ARGON2I", "ARGON2ID", "SSHA256", "MD5", "PBKDF2", "SHA256",
	"CRAM-MD5", "PLAIN-TRUNC", "SHA256-CRYPT", "SMD5", "DIGEST-MD5", "LDAP-MD5",
	"OTP", "SHA256.HEX", "SSHA512.HEX", "PLAIN.B64",
}

// TestDoveadmPwInterop hashes with yubin and verifies with "doveadm pw -t",
// and hashes with "doveadm pw -s" and verifies with yubin, for every
// scheme Dovecot 2.3 supports and yubin implements.
func TestDoveadmPwInterop(t *testing.T) {
	t.Parallel()
	bin := testutil.RequireBinary(t, "doveadm")
	conf := testutil.SharedDir(t) + "/empty.conf"
	if err := writeFile(conf, ""); err != nil {
		t.Fatal(err)
	}
	const user, pw = "bob@example.org", "s3cret pässwörd"
	doveadm := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"-c", conf, "pw"}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, name := range dovecotSchemes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// yubin -> doveadm
			o := HashOptions{User: user}
			if strings.HasPrefix(name, "ARGON2") {
				o.Rounds, o.Memory = 1, 4096 // keep -race runs short
			}
			stored, err := HashWith(name, pw, o)
			if err != nil {
				t.Errorf("Hash(%s): %v", name, err)
				return
			}
			if out, err := doveadm("-t", stored, "-u", user, "-p", pw); err != nil || !strings.HasSuffix(out, "(verified)") {
				t.Errorf("doveadm pw -t %s: %v: %s", stored, err, out)
			}
			// doveadm -> yubin
			out, err := doveadm("-s", name, "-u", user, "-p", pw)
			if err != nil {
				t.Errorf("doveadm pw -s %s: %v: %s", name, err, out)
				return
			}
			vo := VerifyOptions{User: user}
			if ok, err := VerifyWith(out, pw, vo); !ok || err != nil {
				t.Errorf("Verify(%q) from doveadm = %v, %v", out, ok, err)
			}
			if raceEnabled && expensive(out) {
				return
			}
			if ok, err := VerifyWith(out, pw+"x", vo); ok || err != nil {
				t.Errorf("Verify(%q, wrong) from doveadm = %v, %v", out, ok, err)
			}
		}()
	}
	wg.Wait()
}
