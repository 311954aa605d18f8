package msgauth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dkimpy runs testdata/dkimpy_arc.py with Debian's /usr/bin/python3
// (where python3-dkim is importable), DNS from the nsd at nsAddr.
type dkimpy struct {
	t    *testing.T
	port string
}

func newDkimpy(t *testing.T, nsAddr string) *dkimpy {
	t.Helper()
	py := testutil.RequireBinary(t, "/usr/bin/python3")
	probe := exec.Command(py, "-c", "import dkim, dns.resolver, nacl")
	if out, err := probe.CombinedOutput(); err != nil {
		testutil.Unavailable(t, "dkimpy (Debian package python3-dkim) not importable: %s", strings.TrimSpace(string(out)))
	}
	_, port, _ := strings.Cut(nsAddr, ":")
	return &dkimpy{t: t, port: port}
}

func (d *dkimpy) run(mode string, items []map[string]any) []map[string]string {
	d.t.Helper()
	req, _ := json.Marshal(map[string]any{"mode": mode, "items": items})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/dkimpy_arc.py", d.port)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("dkimpy %s: %v\n%s", mode, err, stderr.String())
	}
	var res []map[string]string
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(items) {
		d.t.Fatalf("dkimpy %s: bad answer (%v): %s", mode, err, out)
	}
	return res
}

// verify asks dkimpy for the chain validation status of each message.
func (d *dkimpy) verify(msgs []string) []map[string]string {
	items := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		items[i] = map[string]any{"msg": base64.StdEncoding.EncodeToString([]byte(m))}
	}
	return d.run("verify", items)
}

// arcVariants are a sealed message and the changes that must (or must
// not) break its chain.
func arcVariants(sealed string) map[string]string {
	v := map[string]string{
		"sealed":      sealed,
		"body-added":  tamper(sealed),
		"aar-changed": strings.Replace(sealed, "i=1; mx.hop1.test;", "i=1; mx.hop1.test; x=y;", 1),
		"new-header":  "X-Added: after sealing\r\n" + sealed,
	}
	if strings.Contains(sealed, "ARC-Seal: i=2") {
		v["seal1-dropped"] = dropField(sealed, "ARC-Seal: i=1;")
	}
	return v
}

// dropField removes the field that starts with prefix, continuation
// lines included.
func dropField(msg, prefix string) string {
	i := strings.Index(msg, prefix)
	if i < 0 {
		return msg
	}
	n := fieldLen([]byte(msg[i:]))
	return msg[:i] + msg[i+n:]
}

// TestDkimpyVerifiesOurARCSeal seals the DKIM corpus at one hop and at
// two (the second after a list added a header field), with RSA keys
// (dkimpy's ARC has no Ed25519), and has dkimpy's arc_verify judge each chain and its
// tampered copies, keys served by the real nsd: dkimpy's cv must equal
// yubin's, and the untouched chains must pass.
func TestDkimpyVerifiesOurARCSeal(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, nil)
	py := newDkimpy(t, e.nsAddr)
	type tc struct{ name, msg string }
	var cases []tc
	for name, msg := range dkimCorpus() {
		if !strings.Contains(msg, "\r\n") {
			continue // bare-LF: the SMTP layer hands msgauth CRLF mail
		}
		// dkimpy's ARC knows rsa-sha256 only; Ed25519 seals are
		// covered by TestARCSealAndVerify.
		for alg, keys := range map[string][2]*Key{
			"rsa": {e.hop1.rsaKey(), e.hop2.rsaKey()},
		} {
			one := e.seal(t, keys[0], msg)
			listed := strings.Replace(one, "\r\n\r\n", "\r\nX-List: yes\r\n\r\n", 1)
			two := e.sealChanged(t, keys[1], one, listed)
			for hop, sealed := range map[string]string{"1hop": one, "2hop": two} {
				for v, m := range arcVariants(sealed) {
					cases = append(cases, tc{name + "/" + alg + "/" + hop + "/" + v, m})
				}
			}
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	msgs := make([]string, len(cases))
	for i, c := range cases {
		msgs[i] = c.msg
	}
	got := py.verify(msgs)
	passes := 0
	for i, c := range cases {
		if refusedByDkimpy(t, c.name, got[i]) {
			continue
		}
		ours := e.verify(t, c.msg)
		if got[i]["cv"] != ours.Result {
			t.Errorf("%s: dkimpy cv=%s (%s), yubin %s (%s)", c.name, got[i]["cv"], got[i]["reason"], ours.Result, ours.Reason)
		}
		untouched := strings.HasSuffix(c.name, "/sealed") || strings.HasSuffix(c.name, "/new-header")
		if untouched && ours.Result != ResultPass {
			t.Errorf("%s: %s (%s)", c.name, ours.Result, ours.Reason)
		}
		if ours.Result == ResultPass {
			passes++
		}
	}
	t.Logf("%d chains compared with dkimpy, %d pass", len(cases), passes)
}

// TestDkimpyARCSealedMailVerifiesHere has dkimpy's arc_sign seal the
// corpus at one hop and at two (RSA: dkimpy's arc_sign signs only
// rsa-sha256), then validates each chain and its tampered copies with
// yubin and with dkimpy: same cv, and the untouched chains pass.
func TestDkimpyARCSealedMailVerifiesHere(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, nil)
	py := newDkimpy(t, e.nsAddr)
	dir := t.TempDir()
	keyfile := func(k *testKeys) string {
		der := x509.MarshalPKCS1PrivateKey(k.rsa.(*rsa.PrivateKey))
		f := filepath.Join(dir, k.domain+".pem")
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	k1, k2 := keyfile(e.hop1), keyfile(e.hop2)
	var names, firsts []string
	for name, msg := range dkimCorpus() {
		if !strings.Contains(msg, "\r\n") || !strings.Contains(msg, "\r\n\r\n") {
			continue // dkimpy needs a header/body split
		}
		names = append(names, name)
		firsts = append(firsts, "Authentication-Results: mx.hop1.test; spf=pass smtp.mailfrom=origin.test\r\n"+msg)
	}
	sign := func(msgs []string, key, domain, srvid string) []string {
		items := make([]map[string]any, len(msgs))
		for i, m := range msgs {
			items[i] = map[string]any{"msg": base64.StdEncoding.EncodeToString([]byte(m)), "keyfile": key,
				"selector": "yrsa", "domain": domain, "srvid": srvid, "t": time.Now().Unix()}
		}
		out := make([]string, len(msgs))
		for i, r := range py.run("sign", items) {
			if r["error"] == "" && r["set"] == "" {
				r["error"] = "arc_sign returned no set"
			}
			if refusedByDkimpy(t, names[i], r) {
				continue
			}
			set, _ := base64.StdEncoding.DecodeString(r["set"])
			if !bytes.HasPrefix(set, []byte("ARC-Seal:")) {
				t.Fatalf("dkimpy sealed nothing for %s: %q", names[i], set)
			}
			out[i] = string(set) + msgs[i]
		}
		return out
	}
	ones := sign(firsts, k1, "hop1.test", "mx.hop1.test")
	seconds := make([]string, len(ones))
	for i, m := range ones {
		if m == "" {
			continue
		}
		if r := e.verify(t, m); r.Result != ResultPass {
			t.Fatalf("%s: dkimpy's first seal: %s (%s)\n%s", names[i], r.Result, r.Reason, m)
		}
		m = strings.Replace(m, "\r\n\r\n", "\r\nX-List: yes\r\n\r\n", 1)
		seconds[i] = "Authentication-Results: mx.hop2.test; arc=pass\r\n" + m
	}
	twos := sign(seconds, k2, "hop2.test", "mx.hop2.test")
	type tc struct{ name, msg string }
	var cases []tc
	for i := range names {
		if ones[i] == "" {
			continue
		}
		for hop, sealed := range map[string]string{"1hop": ones[i], "2hop": twos[i]} {
			for v, m := range arcVariants(sealed) {
				cases = append(cases, tc{names[i] + "/" + hop + "/" + v, m})
			}
		}
	}
	msgs := make([]string, len(cases))
	for i, c := range cases {
		msgs[i] = c.msg
	}
	got := py.verify(msgs)
	for i, c := range cases {
		if refusedByDkimpy(t, c.name, got[i]) {
			continue
		}
		ours := e.verify(t, c.msg)
		if got[i]["cv"] != ours.Result {
			t.Errorf("%s: dkimpy cv=%s (%s), yubin %s (%s)", c.name, got[i]["cv"], got[i]["reason"], ours.Result, ours.Reason)
		}
		untouched := strings.HasSuffix(c.name, "/sealed") || strings.HasSuffix(c.name, "/new-header")
		if untouched && ours.Result != ResultPass {
			t.Errorf("%s: %s (%s)", c.name, ours.Result, ours.Reason)
		}
	}
	t.Logf("%d dkimpy-sealed chains compared", len(cases))
}

// refusedByDkimpy reports a message dkimpy's parser refused: only the
// corpus message with a space before a colon may be.
func refusedByDkimpy(t *testing.T, name string, answer map[string]string) bool {
	t.Helper()
	if answer["error"] == "" {
		return false
	}
	if !strings.HasPrefix(name, "odd-spacing") {
		t.Errorf("%s: dkimpy refused the message: %s", name, answer["error"])
	}
	return true
}
