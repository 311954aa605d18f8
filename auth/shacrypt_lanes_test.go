package auth

import (
	"bytes"
	"crypto/sha512"
	"math/rand/v2"
	"testing"

	"github.com/yubinmail/yubin/auth/internal/sha512x8"
)

// laneInputs prepares SHA512-CRYPT computations for the passwords and
// salts and returns their digests A, P and S sequences.
func laneInputs(pws, salts [][]byte) (cs, ps, ss [][]byte) {
	h := sha512.New()
	for i := range pws {
		a, p, s := shaCryptPrepare(h, salts[i], pws[i])
		cs, ps, ss = append(cs, a), append(ps, p), append(ss, s)
	}
	return cs, ps, ss
}

// TestSHA512CryptLanesAllLengths runs the lane rounds for every password
// length 0..300 and every salt length 0..16, mixed in batches of 1..8,
// and compares each lane with the scalar rounds.
func TestSHA512CryptLanesAllLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rounds := 43 // covers all 42 round layouts and then some
	if testing.Short() {
		rounds = 14
	}
	rb := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return b
	}
	for pwLen := 0; pwLen <= 300; {
		n := 1 + r.IntN(sha512x8.Lanes)
		var pws, salts [][]byte
		for range n {
			if pwLen > 300 {
				pws = append(pws, rb(r.IntN(301)))
			} else {
				pws = append(pws, rb(pwLen))
			}
			pwLen++
			salts = append(salts, rb(r.IntN(shaCryptMaxSalt+1)))
		}
		cs, ps, ss := laneInputs(pws, salts)
		want := make([][]byte, n)
		for l := range n {
			want[l] = shaCryptRounds(sha512.New(), rounds, bytes.Clone(cs[l]), ps[l], ss[l])
		}
		sha512CryptRoundsLanes(rounds, cs, ps, ss)
		for l := range n {
			if !bytes.Equal(cs[l], want[l]) {
				t.Fatalf("lane %d of %d: password length %d, salt length %d: lanes and scalar differ", l, n, len(pws[l]), len(salts[l]))
			}
		}
	}
}

// TestSHA512CryptLanesFullCrypt computes whole crypt strings through the
// lanes, with the default 5000 rounds, against the scalar function.
func TestSHA512CryptLanesFullCrypt(t *testing.T) {
	pws := []string{"", "secret", "pässwörd €", "a longer password of forty-two characters", string(bytes.Repeat([]byte("x"), 200)), "p", "0123456789abcdef", "tab\tin"}
	salts := []string{"abcdefghijklmnop", "ShortSalt", "", "s", "0123456789abcde", "saltsalt", "x/y.z", "rounds"}
	var st []*shaCryptSetting
	var bp, bs [][]byte
	for i := range pws {
		st = append(st, &shaCryptSetting{id: '6', rounds: shaCryptDefaultRounds, salt: salts[i]})
		bp, bs = append(bp, []byte(pws[i])), append(bs, []byte(salts[i]))
	}
	cs, ps, ss := laneInputs(bp, bs)
	sha512CryptRoundsLanes(shaCryptDefaultRounds, cs, ps, ss)
	for i := range pws {
		if got, want := shaCryptEncode(st[i], cs[i]), shaCrypt(st[i], bp[i]); got != want {
			t.Errorf("password %q salt %q: lanes %s, scalar %s", pws[i], salts[i], got, want)
		}
	}
}

// BenchmarkSHA512CryptRounds compares the 5000 rounds of SHA512-CRYPT
// (a 12-byte password, a 16-byte salt) computed one hash at a time with
// crypto/sha512 and n hashes at a time in lanes; ns/op is per batch; cpu-µs/hash is
// the CPU time of the benchmark's thread per hash, the figure to trust on
// a loaded machine.
func BenchmarkSHA512CryptRounds(b *testing.B) {
	pw, salt := []byte("correct-pass"), []byte("abcdefghijklmnop")
	b.Run("scalar", func(b *testing.B) {
		cs, ps, ss := laneInputs([][]byte{pw}, [][]byte{salt})
		h := sha512.New()
		cpu := startThreadCPU()
		for b.Loop() {
			shaCryptRounds(h, shaCryptDefaultRounds, cs[0], ps[0], ss[0])
		}
		cpu.report(b, 1)
	})
	for _, n := range []int{1, 2, 3, 4, 8} {
		b.Run("lanes="+string(rune('0'+n)), func(b *testing.B) {
			var pws, salts [][]byte
			for range n {
				pws, salts = append(pws, pw), append(salts, salt)
			}
			cs, ps, ss := laneInputs(pws, salts)
			cpu := startThreadCPU()
			for b.Loop() {
				sha512CryptRoundsLanes(shaCryptDefaultRounds, cs, ps, ss)
			}
			cpu.report(b, n)
		})
	}
}

// FuzzSHA512CryptLanes cuts the input into up to eight passwords and
// salts (separated by NUL bytes) and compares the lane rounds with the
// scalar rounds, for 1..63 rounds.
func FuzzSHA512CryptLanes(f *testing.F) {
	f.Add(byte(5), []byte("secret\x00abcdefghijklmnop\x00pässwörd €\x00ShortSalt"))
	f.Add(byte(42), bytes.Repeat([]byte("0123456789abcdef\x00"), 16))
	f.Fuzz(func(t *testing.T, rounds byte, data []byte) {
		parts := bytes.Split(data, []byte{0})
		var pws, salts [][]byte
		for i := 0; i+1 < len(parts) && len(pws) < sha512x8.Lanes; i += 2 {
			salt := parts[i+1]
			if len(salt) > shaCryptMaxSalt {
				salt = salt[:shaCryptMaxSalt]
			}
			pws, salts = append(pws, parts[i]), append(salts, salt)
		}
		if len(pws) == 0 {
			return
		}
		n := 1 + int(rounds)%63
		cs, ps, ss := laneInputs(pws, salts)
		want := make([][]byte, len(cs))
		for l := range cs {
			want[l] = shaCryptRounds(sha512.New(), n, bytes.Clone(cs[l]), ps[l], ss[l])
		}
		sha512CryptRoundsLanes(n, cs, ps, ss)
		for l := range cs {
			if !bytes.Equal(cs[l], want[l]) {
				t.Fatalf("lane %d (password %q, salt %q, %d rounds) differs", l, pws[l], salts[l], n)
			}
		}
	})
}
