package sha512x8_test

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/yubinmail/yubin/auth/internal/sha512x8"
)

// Example hashes "abc" in lane 0 and nothing in the other lanes.
func Example() {
	const stride = sha512x8.BlockSize
	buf := make([]byte, sha512x8.Lanes*stride)
	copy(buf, "abc")
	buf[3] = 0x80                                   // padding
	binary.BigEndian.PutUint64(buf[stride-8:], 3*8) // length in bits
	var s sha512x8.State
	s.Init()
	counts := [sha512x8.Lanes]int{1}
	if err := s.Blocks(buf, stride, &counts); err != nil {
		fmt.Println(err)
		return
	}
	want := sha512.Sum512([]byte("abc"))
	fmt.Println(string(s.Sum(nil, 0)) == string(want[:]))
	// Output: true
}
