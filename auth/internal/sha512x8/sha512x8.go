package sha512x8

import (
	"encoding/binary"
	"errors"
	"math"
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

var ivState = func() (s State) {
	for w := range s {
		for l := range s[w] {
			s[w][l] = iv[w]
		}
	}
	return s
}()

// Init sets every lane to the SHA-512 initial hash value.
func (s *State) Init() { *s = ivState }

// Sum appends lane l's chaining value, big-endian, to dst: the digest,
// once the lane's padded message has been compressed.
func (s *State) Sum(dst []byte, l int) []byte {
	for w := range s {
		dst = binary.BigEndian.AppendUint64(dst, s[w][l])
	}
	return dst
}

// PutSum writes lane l's chaining value, big-endian, to dst[:Size].
func (s *State) PutSum(dst []byte, l int) {
	_ = dst[Size-1]
	for w := range s {
		binary.BigEndian.PutUint64(dst[w*8:], s[w][l])
	}
}

// ErrLayout means a message layout is out of range: a negative stride
// or count, or a buffer too short for the stride and block counts.
var ErrLayout = errors.New("sha512x8: message layout out of range")

// A Layout says where the lanes' blocks are in a message buffer: lane
// l's counts[l] blocks start at offset l*stride. Checked once by
// NewLayout, it serves any number of Compress calls.
type Layout struct {
	need  int // the buffer length the layout reads
	idx   [Lanes]uint64
	masks []uint64 // for block b, the lanes that have one
}

// NewLayout checks and returns the layout of counts[l] blocks per lane
// l, at offsets l*stride. A lane with a count of 0 is left unchanged.
func NewLayout(stride int, counts *[Lanes]int) (*Layout, error) {
	// Bounds that keep l*stride+n*BlockSize from overflowing an int.
	const maxBytes = math.MaxInt / (2 * Lanes)
	if stride < 0 || stride > maxBytes {
		return nil, ErrLayout
	}
	lay := &Layout{}
	nmax := 0
	for l, n := range counts {
		if n < 0 || n > maxBytes/BlockSize {
			return nil, ErrLayout
		}
		if n > 0 {
			lay.need = max(lay.need, l*stride+n*BlockSize)
			nmax = max(nmax, n)
		}
		lay.idx[l] = uint64(l * stride)
	}
	lay.masks = make([]uint64, nmax)
	for b := range lay.masks {
		for l, n := range counts {
			if n > b {
				lay.masks[b] |= 1 << l
			}
		}
	}
	return lay, nil
}

// Compress compresses, into each lane, its blocks of msg as lay places
// them. Lanes with fewer blocks than others keep their state while the
// others go on. The caller pads the messages.
func (s *State) Compress(msg []byte, lay *Layout) error {
	return s.compressWith(block8, msg, lay)
}

// blockFunc compresses one block for each lane in mask, lane l's block
// being msg[idx[l]:idx[l]+BlockSize].
type blockFunc func(s *State, msg []byte, idx *[Lanes]uint64, mask uint64)

// compressWith is Compress on a given block function, so that tests can
// compare the implementations.
func (s *State) compressWith(block blockFunc, msg []byte, lay *Layout) error {
	if len(msg) < lay.need {
		return ErrLayout
	}
	for b, mask := range lay.masks {
		block(s, msg[b*BlockSize:], &lay.idx, mask)
	}
	return nil
}

// Blocks compresses, into each lane l, counts[l] consecutive 128-byte
// blocks of msg starting at offset l*stride: NewLayout and Compress in
// one call.
func (s *State) Blocks(msg []byte, stride int, counts *[Lanes]int) error {
	return s.blocksWith(block8, msg, stride, counts)
}

func (s *State) blocksWith(block blockFunc, msg []byte, stride int, counts *[Lanes]int) error {
	lay, err := NewLayout(stride, counts)
	if err != nil {
		return err
	}
	return s.compressWith(block, msg, lay)
}

// Accelerated reports whether Blocks runs on vector instructions, so
// that computing several lanes at once costs less than computing them
// one after the other.
func Accelerated() bool { return useAVX512 }
