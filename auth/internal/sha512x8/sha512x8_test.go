package sha512x8

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// engines are the block functions a test compares with crypto/sha512.
func engines() map[string]blockFunc {
	m := map[string]blockFunc{"generic": block8Generic}
	if useAVX512 {
		m["native"] = block8
	}
	return m
}

// pad returns m followed by SHA-512 padding (FIPS 180-4 §5.1.2).
func pad(m []byte) []byte {
	n := (len(m) + 1 + 16 + BlockSize - 1) / BlockSize * BlockSize
	out := make([]byte, n)
	copy(out, m)
	out[len(m)] = 0x80
	binary.BigEndian.PutUint64(out[n-8:], uint64(len(m))*8)
	return out
}

// sum8 hashes up to Lanes messages (nil means an idle lane) with block
// and returns each lane's digest.
func sum8(t testing.TB, block blockFunc, msgs [Lanes][]byte) [Lanes][]byte {
	t.Helper()
	stride := 0
	var padded [Lanes][]byte
	for l, m := range msgs {
		if m != nil {
			padded[l] = pad(m)
			stride = max(stride, len(padded[l]))
		}
	}
	// An odd extra offset makes the gathers unaligned.
	stride += 8*rand.IntN(3) + rand.IntN(2)*3
	buf := make([]byte, Lanes*stride)
	for i := range buf {
		buf[i] = byte(i*7 + 1) // garbage between lanes must not matter
	}
	var counts [Lanes]int
	for l, p := range padded {
		copy(buf[l*stride:], p)
		counts[l] = len(p) / BlockSize
	}
	var s State
	s.Init()
	const sentinel = 0x0123456789abcdef
	for l := range Lanes {
		if msgs[l] == nil {
			for w := range s {
				s[w][l] = sentinel + uint64(w)
			}
		}
	}
	if err := s.blocksWith(block, buf, stride, &counts); err != nil {
		t.Fatal(err)
	}
	var out [Lanes][]byte
	for l := range Lanes {
		if msgs[l] == nil {
			for w := range s {
				if s[w][l] != sentinel+uint64(w) {
					t.Fatalf("idle lane %d word %d changed", l, w)
				}
			}
			continue
		}
		out[l] = s.Sum(nil, l)
	}
	return out
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestAllLengths hashes every length 0..300 in every lane position,
// next to lanes of other lengths, and compares with crypto/sha512.
func TestAllLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, block := range engines() {
		for n := 0; n <= 300; n++ {
			var msgs [Lanes][]byte
			for l := range msgs {
				if l == n%Lanes {
					msgs[l] = randBytes(r, n)
				} else {
					msgs[l] = randBytes(r, r.IntN(301))
				}
			}
			got := sum8(t, block, msgs)
			for l, m := range msgs {
				want := sha512.Sum512(m)
				if !bytes.Equal(got[l], want[:]) {
					t.Fatalf("%s: lane %d length %d: got %x, want %x", name, l, len(m), got[l], want)
				}
			}
		}
	}
}

// TestSameLengthAllLanes fills all eight lanes with messages of one
// length, for every length 0..300.
func TestSameLengthAllLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, block := range engines() {
		for n := 0; n <= 300; n++ {
			var msgs [Lanes][]byte
			for l := range msgs {
				msgs[l] = randBytes(r, n)
			}
			got := sum8(t, block, msgs)
			for l, m := range msgs {
				if want := sha512.Sum512(m); !bytes.Equal(got[l], want[:]) {
					t.Fatalf("%s: lane %d length %d differs", name, l, n)
				}
			}
		}
	}
}

// TestIdleLanes leaves random lanes without work: their state must stay
// as it was, and the busy lanes must still be right.
func TestIdleLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name, block := range engines() {
		for range 500 {
			var msgs [Lanes][]byte
			for l := range msgs {
				if r.IntN(2) == 0 {
					msgs[l] = randBytes(r, r.IntN(600))
				}
			}
			got := sum8(t, block, msgs)
			for l, m := range msgs {
				if m == nil {
					continue
				}
				if want := sha512.Sum512(m); !bytes.Equal(got[l], want[:]) {
					t.Fatalf("%s: lane %d length %d differs", name, l, len(m))
				}
			}
		}
	}
}

// TestEnginesAgreeOnChainedState runs many blocks from random states
// (not only the IV) through both engines.
func TestEnginesAgreeOnChainedState(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this CPU: only the generic engine exists")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		var s1 State
		for w := range s1 {
			for l := range s1[w] {
				s1[w][l] = r.Uint64()
			}
		}
		s2 := s1
		stride := BlockSize*3 + r.IntN(64)
		buf := randBytes(r, Lanes*stride)
		var counts [Lanes]int
		for l := range counts {
			counts[l] = r.IntN(4)
		}
		if err := s1.blocksWith(block8Generic, buf, stride, &counts); err != nil {
			t.Fatal(err)
		}
		if err := s2.blocksWith(block8, buf, stride, &counts); err != nil {
			t.Fatal(err)
		}
		if s1 != s2 {
			t.Fatalf("engines differ for counts %v", counts)
		}
	}
}

func TestBlocksLayoutErrors(t *testing.T) {
	var s State
	s.Init()
	buf := make([]byte, 4*BlockSize)
	for _, tc := range []struct {
		stride int
		counts [Lanes]int
	}{
		{stride: BlockSize, counts: [Lanes]int{0, 0, 0, 0, 1}},
		{stride: 0, counts: [Lanes]int{5}},
		{stride: -1, counts: [Lanes]int{1}},
		{stride: 0, counts: [Lanes]int{-1}},
		{stride: math.MaxInt / 4, counts: [Lanes]int{0, 1}},
		{stride: 0, counts: [Lanes]int{math.MaxInt / 64}},
	} {
		before := s
		if err := s.Blocks(buf, tc.stride, &tc.counts); err != ErrLayout {
			t.Errorf("stride %d counts %v: err %v, want ErrLayout", tc.stride, tc.counts, err)
		}
		if s != before {
			t.Errorf("stride %d counts %v: state changed on error", tc.stride, tc.counts)
		}
	}
	counts := [Lanes]int{1, 1, 1, 1}
	if err := s.Blocks(buf, BlockSize, &counts); err != nil {
		t.Errorf("exact fit: %v", err)
	}
}

// TestCompressShortBuffer: a Layout used on a buffer shorter than it
// needs is refused, and the state is left alone.
func TestCompressShortBuffer(t *testing.T) {
	lay, err := NewLayout(2*BlockSize, &[Lanes]int{1, 2, 0, 0, 0, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	var s State
	s.Init()
	if err := s.Compress(make([]byte, 7*2*BlockSize), lay); err != ErrLayout {
		t.Errorf("short buffer: err %v, want ErrLayout", err)
	}
	if s != ivState {
		t.Error("state changed on error")
	}
	if err := s.Compress(make([]byte, 7*2*BlockSize+BlockSize), lay); err != nil {
		t.Errorf("exact fit: %v", err)
	}
}
