//go:build amd64 && !purego

package sha512x8

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go block_amd64.s

// useAVX512 selects the assembly: it needs AVX-512 F (the 64-bit
// lanes, rotations and ternary logic) and BW (the byte shuffle).
var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW

// block8AVX512 compresses one block for the lanes in mask, lane l's
// block starting at msg+idx[l]. Implemented in block_amd64.s.
//
//go:noescape
func block8AVX512(s *State, msg *byte, idx *[Lanes]uint64, mask uint64)

func block8(s *State, msg []byte, idx *[Lanes]uint64, mask uint64) {
	if useAVX512 {
		block8AVX512(s, &msg[0], idx, mask)
		return
	}
	block8Generic(s, msg, idx, mask)
}
