package msgauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"
)

var (
	rsaTestKeysOnce sync.Once
	rsaTestKeys     []*rsa.PrivateKey
)

// testRSAKeys are keys of 1024, 2048 and 3072 bits, made once per test
// binary.
func testRSAKeys(t testing.TB) []*rsa.PrivateKey {
	rsaTestKeysOnce.Do(func() {
		for _, bits := range []int{1024, 2048, 3072} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			rsaTestKeys = append(rsaTestKeys, k)
		}
	})
	return rsaTestKeys
}

// FuzzRSAKeyVerify: verification on the prepared modulus gives
// crypto/rsa's verdict for any digest and signature bytes, from a valid
// signature changed anywhere, truncated, extended or replaced.
func FuzzRSAKeyVerify(f *testing.F) {
	f.Add(uint8(1), []byte("message"), []byte{}, uint16(0), uint8(0))
	f.Add(uint8(0), []byte("x"), []byte{1, 2, 3}, uint16(5), uint8(1))
	f.Add(uint8(2), []byte(""), []byte{0xff}, uint16(300), uint8(2))
	f.Fuzz(func(t *testing.T, which uint8, msg, junk []byte, at uint16, mode uint8) {
		priv := testRSAKeys(t)[int(which)%3]
		digest := sha256.Sum256(msg)
		sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		switch mode % 5 {
		case 1: // bytes changed at at
			for i, b := range junk {
				sig[(int(at)+i)%len(sig)] ^= b
			}
		case 2: // truncated or extended
			if int(at)%2 == 0 {
				sig = sig[:int(at)%len(sig)]
			} else {
				sig = append(sig, junk...)
			}
		case 3: // replaced
			sig = junk
		case 4: // another digest
			d := sha256.Sum256(junk)
			digest = d
		}
		k := newRSAKey(&priv.PublicKey)
		if k.n == nil {
			t.Fatal("key not prepared")
		}
		got := k.verifyPKCS1v15SHA256(digest[:], sig)
		want := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig)
		if (got == nil) != (want == nil) {
			t.Fatalf("mode %d: prepared %v, crypto/rsa %v", mode%5, got, want)
		}
		if mode%5 == 0 && got != nil {
			t.Fatalf("valid signature refused: %v", got)
		}
	})
}

// TestRSAKeyOddKeys: keys crypto/rsa refuses (even modulus or exponent)
// are not prepared, and still get crypto/rsa's refusal.
func TestRSAKeyOddKeys(t *testing.T) {
	t.Parallel()
	priv := testRSAKeys(t)[1]
	digest := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
	for name, pub := range map[string]*rsa.PublicKey{
		"even modulus":  {N: new(big.Int).Add(priv.N, big.NewInt(1)), E: priv.E},
		"even exponent": {N: priv.N, E: 65536},
		"exponent 1":    {N: priv.N, E: 1},
	} {
		k := newRSAKey(pub)
		if k.n != nil {
			t.Errorf("%s: prepared", name)
		}
		if err := verifySig("rsa-sha256", k, digest[:], sig); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if err := verifySig("rsa-sha256", newRSAKey(&priv.PublicKey), digest[:], sig); err != nil {
		t.Errorf("good key: %v", err)
	}
}

// BenchmarkRSAVerify compares one RSA-2048 verification with crypto/rsa
// and on the prepared modulus; cpu-ns/op is the process CPU time.
func BenchmarkRSAVerify(b *testing.B) {
	priv := testRSAKeys(b)[1]
	digest := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		c0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op") }()
		for range b.N {
			if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	k := newRSAKey(&priv.PublicKey)
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		c0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op") }()
		for range b.N {
			if err := k.verifyPKCS1v15SHA256(digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
