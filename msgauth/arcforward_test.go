package msgauth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func opener(msg string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil }
}

// TestDkimpyARCUnnumberableChain: a chain whose fields cannot be
// numbered into sets (set 1 without its ARC-Message-Signature; sets 1
// and 3 without 2; two seals for i=1) fails validation here and in
// dkimpy, and both seal it the same way: i= one above the highest
// instance, cv=fail, the seal over its own set only. dkimpy's arc_verify
// judges yubin's sealed copy fail (the chain is terminated), and
// yubin judges dkimpy's the same.
func TestDkimpyARCUnnumberableChain(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, nil)
	py := newDkimpy(t, e.nsAddr)
	msg := "From: a@origin.test\r\nTo: b@dest.test\r\nSubject: hi\r\nMessage-ID: <u1@origin.test>\r\n\r\nbody\r\n"
	one := e.seal(t, e.hop1.rsaKey(), msg)
	two := e.seal(t, e.hop2.rsaKey(), one)
	// The second set renumbered 3: sets 1 and 3, no 2.
	gap := strings.ReplaceAll(two, "i=2;", "i=3;")
	cases := map[string]string{
		"no-ams":    dropField(one, "ARC-Message-Signature: i=1;"),
		"gap":       gap,
		"two-seals": strings.SplitN(one, "\r\n", 2)[0] + "\r\n" + one,
	}
	want := map[string]string{"no-ams": "2", "gap": "4", "two-seals": "2"}
	der := x509.MarshalPKCS1PrivateKey(e.hop2.rsa.(*rsa.PrivateKey))
	keyfile := filepath.Join(t.TempDir(), "hop2.pem")
	if err := os.WriteFile(keyfile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	instance := regexp.MustCompile(`^ARC-Seal: (?:[a-z]+=[^;]*; )*?i=(\d+);.*?cv=(\w+);`)
	for name, broken := range cases {
		if r := e.verify(t, broken); r.Result != ResultFail {
			t.Fatalf("%s: yubin judges the broken chain %s, want fail", name, r.Result)
		}
		if got := py.verify([]string{broken})[0]; got["cv"] != ResultFail {
			t.Fatalf("%s: dkimpy judges the broken chain %v, want fail", name, got)
		}
		in := "Authentication-Results: mx.hop2.test; arc=fail\r\n" + broken
		ours, err := (&ARCSealer{Key: e.hop2.rsaKey(), AuthservID: "mx.hop2.test"}).Seal(context.Background(), strings.NewReader(in),
			&Results{ARC: ARCResult{Result: ResultFail}})
		if err != nil || ours == "" {
			t.Fatalf("%s: not sealed: %q %v", name, ours, err)
		}
		r := py.run("sign", []map[string]any{{"msg": base64.StdEncoding.EncodeToString([]byte(in)), "keyfile": keyfile,
			"selector": "yrsa", "domain": "hop2.test", "srvid": "mx.hop2.test", "t": time.Now().Unix()}})[0]
		theirs, _ := base64.StdEncoding.DecodeString(r["set"])
		mo, mt := instance.FindStringSubmatch(ours), instance.FindSubmatch(theirs)
		if mo == nil || mt == nil || mo[1] != want[name] || string(mt[1]) != mo[1] || mo[2] != "fail" || string(mt[2]) != "fail" {
			t.Fatalf("%s: yubin sealed %q, dkimpy %q (error %s); want i=%s cv=fail from both", name, firstLine(ours), firstLine(string(theirs)), r["error"], want[name])
		}
		for who, sealed := range map[string]string{"yubin": ours + in, "dkimpy": string(theirs) + in} {
			if got := py.verify([]string{sealed})[0]; got["cv"] != ResultFail {
				t.Errorf("%s: dkimpy judges %s's seal %v, want fail", name, who, got)
			}
			if r := e.verify(t, sealed); r.Result != ResultFail {
				t.Errorf("%s: yubin judges %s's seal %s, want fail", name, who, r.Result)
			}
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

// TestARCSealForwarded: the set a forwarding host adds carries the
// Authentication-Results field it wrote on arrival (its authserv-id,
// not another host's) and the chain status validated at the time of
// forwarding; dkimpy's arc_verify passes the result. A message without
// this host's field is not sealed (ErrNotChecked).
func TestARCSealForwarded(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, nil)
	py := newDkimpy(t, e.nsAddr)
	ctx := context.Background()
	msg := "From: a@origin.test\r\nTo: list@hop1.test\r\nSubject: hi\r\nMessage-ID: <f1@origin.test>\r\n\r\nbody\r\n"
	one := e.seal(t, e.hop1.rsaKey(), msg)
	arrived := "Authentication-Results: mx.hop2.test;\r\n\tdkim=none; spf=pass smtp.mailfrom=hop1.test; arc=pass\r\n" +
		"Authentication-Results: mx.elsewhere.test; dkim=fail\r\n" + one
	s := &ARCSealer{Key: e.hop2.rsaKey(), AuthservID: "mx.hop2.test"}
	set, err := s.SealForwarded(ctx, e.ver, opener(arrived))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(set, "ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=hop2.test;") ||
		!strings.Contains(set, "ARC-Authentication-Results: i=2; mx.hop2.test;\r\n\tdkim=none; spf=pass smtp.mailfrom=hop1.test; arc=pass\r\n") {
		t.Fatalf("set:\n%s", set)
	}
	sealed := set + arrived
	if r := e.verify(t, sealed); r.Result != ResultPass || len(r.Sets) != 2 {
		t.Fatalf("yubin: %+v", r)
	}
	if got := py.verify([]string{sealed})[0]; got["cv"] != ResultPass {
		t.Fatalf("dkimpy: %v", got)
	}
	// A broken chain at forwarding time: cv=fail.
	broken := bytes.Replace([]byte(arrived), []byte("\r\n\r\nbody"), []byte("\r\n\r\nchanged body"), 1)
	set, err = s.SealForwarded(ctx, e.ver, opener(string(broken)))
	if err != nil || !strings.HasPrefix(set, "ARC-Seal: i=2; a=rsa-sha256; cv=fail;") {
		t.Fatalf("broken chain: %q %v", firstLine(set), err)
	}
	// Not checked here: only another host's field.
	if _, err := s.SealForwarded(ctx, e.ver, opener("Authentication-Results: mx.elsewhere.test; dkim=pass\r\n"+msg)); !errors.Is(err, ErrNotChecked) {
		t.Fatalf("unchecked message: %v", err)
	}
	// No chain yet: i=1, cv=none.
	set, err = s.SealForwarded(ctx, e.ver, opener("Authentication-Results: mx.hop2.test; spf=pass smtp.mailfrom=origin.test\r\n"+msg))
	if err != nil || !strings.HasPrefix(set, "ARC-Seal: i=1; a=rsa-sha256; cv=none;") {
		t.Fatalf("first seal: %q %v", firstLine(set), err)
	}
}
