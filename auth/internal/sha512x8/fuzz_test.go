package sha512x8

import (
	"bytes"
	"crypto/sha512"
	"testing"
)

// FuzzEngines cuts the input into eight lanes (lengths taken from the
// first bytes; a length byte of 0xff leaves the lane idle) and checks
// every engine against crypto/sha512.
func FuzzEngines(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 111, 112, 0xff, 200}, []byte("abc"))
	f.Add([]byte{127, 128, 129, 239, 240, 241, 0, 0}, bytes.Repeat([]byte{0x5a}, 300))
	f.Fuzz(func(t *testing.T, lens []byte, data []byte) {
		var msgs [Lanes][]byte
		off := 0
		for l := range Lanes {
			n := 0
			if l < len(lens) {
				if lens[l] == 0xff {
					continue
				}
				n = int(lens[l])
			}
			m := make([]byte, n)
			for i := range m {
				if len(data) > 0 {
					m[i] = data[(off+i)%len(data)]
				}
			}
			off += n
			msgs[l] = m
		}
		for name, block := range engines() {
			got := sum8(t, block, msgs)
			for l, m := range msgs {
				if m == nil {
					continue
				}
				if want := sha512.Sum512(m); !bytes.Equal(got[l], want[:]) {
					t.Fatalf("%s: lane %d length %d: got %x want %x", name, l, len(m), got[l], want)
				}
			}
		}
	})
}
