package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SignedZone is a zone signed by the real ldns-signzone (Debian's
// ldnsutils) with a fresh ECDSA P-256 key.
type SignedZone struct {
	// Text is the signed zone file, for StartNSD.
	Text string
	// Anchor is the zone's DNSKEY record (zone-file form), the trust
	// anchor a validating resolver needs (StartUnbound).
	Anchor string
}

// SignZone signs the zone text for origin ("dane.test.") with a new key
// (ldns-keygen -a ECDSAP256SHA256 -k, one key signing everything) and
// ldns-signzone; $ORIGIN and $TTL are added when missing. It skips (or
// fails under YUBIN_REQUIRE_INTEROP=1) when ldnsutils is missing.
func SignZone(t testing.TB, origin, text string) SignedZone {
	t.Helper()
	keygen := RequireBinary(t, "ldns-keygen")
	sign := RequireBinary(t, "ldns-signzone")
	if !strings.HasSuffix(origin, ".") {
		origin += "."
	}
	if !strings.Contains(text, "$ORIGIN") {
		text = "$ORIGIN " + origin + "\n" + text
	}
	if !strings.Contains(text, "$TTL") {
		text = "$TTL 60\n" + text
	}
	dir := t.TempDir()
	zf := filepath.Join(dir, "zone")
	if err := os.WriteFile(zf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(keygen, "-a", "ECDSAP256SHA256", "-k", origin)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ldns-keygen: %v", err)
	}
	base := strings.TrimSpace(string(out))
	cmd = exec.Command(sign, "-o", origin, "-f", zf+".signed", zf, base)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldns-signzone: %v\n%s", err, b)
	}
	signed, err := os.ReadFile(zf + ".signed")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, base+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return SignedZone{Text: string(signed), Anchor: strings.TrimSpace(string(key))}
}

// CorruptRRSIG alters the signature covering owner's (an absolute name)
// records of type rtype, so that a validating resolver finds them bogus
// and answers SERVFAIL. (Records merely added unsigned are not enough:
// the zone's NSEC records prove they do not exist, and a resolver with
// aggressive NSEC use answers NXDOMAIN from its cache.)
func (z *SignedZone) CorruptRRSIG(t testing.TB, owner, rtype string) {
	t.Helper()
	lines := strings.Split(z.Text, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 5 && f[0] == owner && f[3] == "RRSIG" && f[4] == rtype {
			sig := []byte(f[len(f)-1])
			if sig[0] == 'A' {
				sig[0] = 'B'
			} else {
				sig[0] = 'A'
			}
			f[len(f)-1] = string(sig)
			lines[i] = strings.Join(f, " ")
			z.Text = strings.Join(lines, "\n")
			return
		}
	}
	t.Fatalf("no RRSIG %s for %s in the signed zone", rtype, owner)
}
