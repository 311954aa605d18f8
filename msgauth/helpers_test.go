package msgauth

import (
	"bufio"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// testKeys is a domain's RSA and Ed25519 keys, their files and zone lines.
type testKeys struct {
	domain          string
	rsa, ed         crypto.Signer
	rsaFile, edFile string
	zone            string // zone-file lines publishing both
}

func newTestKeys(t testing.TB, domain string) *testKeys {
	t.Helper()
	dir := t.TempDir()
	k := &testKeys{domain: domain}
	var zone strings.Builder
	for _, alg := range []string{AlgRSA, AlgEd25519} {
		s, pemBytes, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, alg+".pem")
		if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		line, err := ZoneRecord(domain, "y"+alg, s.Public())
		if err != nil {
			t.Fatal(err)
		}
		zone.WriteString(line + "\n")
		if alg == AlgRSA {
			k.rsa, k.rsaFile = s, file
		} else {
			k.ed, k.edFile = s, file
		}
	}
	k.zone = zone.String()
	return k
}

func (k *testKeys) rsaKey() *Key { return &Key{Domain: k.domain, Selector: "yrsa", Signer: k.rsa} }
func (k *testKeys) edKey() *Key  { return &Key{Domain: k.domain, Selector: "yed25519", Signer: k.ed} }

// zoneHead is the SOA and NS of a test zone.
const zoneHead = "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"

// startDNS serves zones (origin -> records after the SOA/NS head) from a
// real nsd on 127.0.0.1.
func startDNS(t testing.TB, zones map[string]string) *testutil.NSD {
	t.Helper()
	z := map[string]string{}
	for o, recs := range zones {
		z[o] = zoneHead + recs
	}
	return testutil.StartNSD(t, z)
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
