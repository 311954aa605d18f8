package sha512x8

import (
	"crypto/sha512"
	"testing"
)

// benchBlocks compresses two blocks in each of the eight lanes per
// iteration; SetBytes counts all sixteen blocks.
func benchBlocks(b *testing.B, block blockFunc) {
	const stride = 2 * BlockSize
	buf := make([]byte, Lanes*stride)
	counts := [Lanes]int{2, 2, 2, 2, 2, 2, 2, 2}
	var s State
	s.Init()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := s.blocksWith(block, buf, stride, &counts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlocks8Native(b *testing.B) {
	if !useAVX512 {
		b.Skip("no AVX-512")
	}
	benchBlocks(b, block8)
}

func BenchmarkBlocks8Generic(b *testing.B) { benchBlocks(b, block8Generic) }

// BenchmarkStdlib hashes the same sixteen blocks with crypto/sha512, one
// lane after the other: the scalar baseline.
func BenchmarkStdlib(b *testing.B) {
	buf := make([]byte, Lanes*2*BlockSize)
	b.SetBytes(int64(len(buf)))
	h := sha512.New()
	for b.Loop() {
		for l := range Lanes {
			h.Reset()
			h.Write(buf[l*2*BlockSize : l*2*BlockSize+2*BlockSize-17])
			h.Sum(nil)
		}
	}
}
