package sha512x8

import (
	"encoding/binary"
	"errors"
)

// Lanes is the number of independent SHA-512 computations a State holds.
const Lanes = 8

// BlockSize is the SHA-512 block size in bytes.
const BlockSize = 128

// Size is the size of a SHA-512 digest in bytes.
const Size = 64

// State holds the chaining values of Lanes SHA-512 computations, word
// by word: State[w][l] is word w of lane l. This is the layout the
// vector code loads with one instruction per word.
type State [8][Lanes]uint64

var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// Init sets every lane to the SHA-512 initial hash value.
func (s *State) Init() {
	for w := range s {
		for l := range s[w] {
			s[w][l] = iv[w]
		}
	}
}

// Sum appends lane l's chaining value, big-endian, to dst: the digest,
// once the lane's padded message has been compressed.
func (s *State) Sum(dst []byte, l int) []byte {
	for w := range s {
		dst = binary.BigEndian.AppendUint64(dst, s[w][l])
	}
	return dst
}

// ErrLayout means the message buffer given to Blocks is too short for
// the stride and block counts.
var ErrLayout = errors.New("sha512x8: message layout out of range")

// Blocks compresses, into each lane l, counts[l] consecutive 128-byte
// blocks of msg starting at offset l*stride. A lane with a count of 0
// is left unchanged; lanes with fewer blocks than others keep their
// state while the others go on. The caller pads the messages.
func (s *State) Blocks(msg []byte, stride int, counts *[Lanes]int) error {
	return s.blocksWith(block8, msg, stride, counts)
}

// blockFunc compresses one block for each lane in mask, lane l's block
// being msg[idx[l]:idx[l]+BlockSize].
type blockFunc func(s *State, msg []byte, idx *[Lanes]uint64, mask uint64)

// blocksWith is Blocks on a given block function, so that tests can
// compare the implementations.
func (s *State) blocksWith(block blockFunc, msg []byte, stride int, counts *[Lanes]int) error {
	nmax := 0
	for l, n := range counts {
		if n < 0 || stride < 0 {
			return ErrLayout
		}
		if n == 0 {
			continue
		}
		// Checked so that l*stride+n*BlockSize cannot overflow.
		if stride > len(msg) || n > len(msg)/BlockSize || l*stride+n*BlockSize > len(msg) {
			return ErrLayout
		}
		nmax = max(nmax, n)
	}
	if nmax == 0 {
		return nil
	}
	var idx [Lanes]uint64
	for l := range idx {
		idx[l] = uint64(l * stride)
	}
	for b := range nmax {
		var mask uint64
		for l, n := range counts {
			if n > b {
				mask |= 1 << l
			}
		}
		block(s, msg[b*BlockSize:], &idx, mask)
	}
	return nil
}

// Accelerated reports whether Blocks runs on vector instructions, so
// that computing several lanes at once costs less than computing them
// one after the other.
func Accelerated() bool { return useAVX512 }
