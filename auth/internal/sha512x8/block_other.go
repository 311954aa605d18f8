//go:build !amd64 || purego

package sha512x8

const useAVX512 = false

func block8(s *State, msg []byte, idx *[Lanes]uint64, mask uint64) {
	block8Generic(s, msg, idx, mask)
}
