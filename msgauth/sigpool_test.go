package msgauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync"
	"testing"
)

// deepCall calls f under n frames of 256 bytes, as a server's handler
// runs under its connection's frames.
//
//go:noinline
func deepCall(n int, f func()) {
	var pad [256]byte
	if n == 0 {
		f()
		return
	}
	deepCall(n-1, f)
	pad[n%len(pad)] = 1
}

type stackKeys struct {
	rsaPub, edPub crypto.PublicKey
	digest        []byte
	rsaSig, edSig []byte
}

func newStackKeys(t testing.TB) *stackKeys {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("digest"))
	rs, err := rk.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &stackKeys{rsaPub: &rk.PublicKey, edPub: edPub, digest: d[:], rsaSig: rs, edSig: ed25519.Sign(edKey, d[:])}
}

// BenchmarkVerifyStack measures one signature verification on a new
// goroutine (as on a server's goroutine per connection), directly
// ("direct": its stack grows during the verification) and through the
// workers ("pooled"); cpu-ns/op is the process CPU time.
func BenchmarkVerifyStack(b *testing.B) {
	k := newStackKeys(b)
	for _, alg := range []string{"rsa-sha256", "ed25519-sha256"} {
		pub, sig := k.rsaPub, k.rsaSig
		if alg == "ed25519-sha256" {
			pub, sig = k.edPub, k.edSig
		}
		for _, mode := range []string{"direct", "pooled", "same"} {
			verify := verifySig
			if mode == "pooled" {
				verify = verifySigPooled
			}
			b.Run(alg+"/"+mode, func(b *testing.B) {
				c0 := cpuTime()
				if mode == "same" {
					for range b.N {
						verify(alg, pub, k.digest, sig)
					}
					b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
					return
				}
				for range b.N {
					done := make(chan error)
					go deepCall(10, func() { done <- verify(alg, pub, k.digest, sig) })
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// TestVerifySigPooled: the workers give verifySig's verdicts, from many
// goroutines at once, and a bad signature still fails.
func TestVerifySigPooled(t *testing.T) {
	t.Parallel()
	k := newStackKeys(t)
	bad := append([]byte(nil), k.edSig...)
	bad[0] ^= 1
	cases := []struct {
		alg      string
		pub      crypto.PublicKey
		sig      []byte
		wantPass bool
	}{
		{"rsa-sha256", k.rsaPub, k.rsaSig, true},
		{"ed25519-sha256", k.edPub, k.edSig, true},
		{"ed25519-sha256", k.edPub, bad, false},
		{"rsa-sha256", k.edPub, k.edSig, false}, // key type does not match
		{"rsa-sha1", k.rsaPub, k.rsaSig, false},
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 5 {
				for _, c := range cases {
					err := verifySigPooled(c.alg, c.pub, k.digest, c.sig)
					if (err == nil) != c.wantPass {
						t.Errorf("%s: err %v, want pass %v", c.alg, err, c.wantPass)
					}
					if want := verifySig(c.alg, c.pub, k.digest, c.sig); (want == nil) != (err == nil) {
						t.Errorf("%s: pooled %v, direct %v", c.alg, err, want)
					}
				}
			}
		})
	}
	wg.Wait()
}
