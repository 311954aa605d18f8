package auth

import (
	"encoding/binary"

	"github.com/yubinmail/yubin/auth/internal/sha512x8"
)

// sha512CryptRoundsLanes runs SHA512-CRYPT's step 21 (the rounds) for up
// to sha512x8.Lanes computations at once, lane l's round i hashing what
// shaCryptRounds hashes. cs[l] is digest A on the way in and the final
// digest on the way out; ps[l] and ss[l] are the P and S sequences.
// Lanes may have different password and salt lengths, and so need
// different numbers of blocks per round, but share one round count.
func sha512CryptRoundsLanes(rounds int, cs, ps, ss [][]byte) {
	n := len(cs)
	// A round's message is made of c (64 bytes), p and s in one of
	// eight layouts, chosen by i&1, i%3 != 0 and i%7 != 0. Each layout
	// is laid out once per lane, padded; every round only writes its c.
	type layout struct {
		cOff   [sha512x8.Lanes]int
		counts [sha512x8.Lanes]int
	}
	var lay [8]layout
	stride := 0
	for k := range lay {
		for l := range n {
			size := 64 + len(ps[l])
			if k&2 != 0 {
				size += len(ss[l])
			}
			if k&4 != 0 {
				size += len(ps[l])
			}
			if k&1 != 0 {
				lay[k].cOff[l] = size - 64
			}
			lay[k].counts[l] = (size + 1 + 16 + sha512x8.BlockSize - 1) / sha512x8.BlockSize
			stride = max(stride, lay[k].counts[l]*sha512x8.BlockSize)
		}
	}
	span := sha512x8.Lanes * stride
	buf := make([]byte, 8*span)
	defer clear(buf) // P is derived from the password
	for k := range lay {
		for l := range n {
			m := buf[k*span+l*stride : k*span+l*stride+lay[k].counts[l]*sha512x8.BlockSize]
			off := 0
			put := func(b []byte) { off += copy(m[off:], b) }
			if k&1 != 0 {
				put(ps[l])
			} else {
				off += 64
			}
			if k&2 != 0 {
				put(ss[l])
			}
			if k&4 != 0 {
				put(ps[l])
			}
			if k&1 != 0 {
				off += 64
			} else {
				put(ps[l])
			}
			m[off] = 0x80
			binary.BigEndian.PutUint64(m[len(m)-8:], uint64(off)*8)
		}
	}

	var layouts [8]*sha512x8.Layout
	for k := range lay {
		var err error
		if layouts[k], err = sha512x8.NewLayout(stride, &lay[k].counts); err != nil {
			panic("auth: SHA512-CRYPT lane layout: " + err.Error()) // the layout above is always in range
		}
	}
	class := func(i int) int {
		k := i & 1
		if i%3 != 0 {
			k |= 2
		}
		if i%7 != 0 {
			k |= 4
		}
		return k
	}
	// Round i's c is written straight into round i+1's layout.
	k := class(0)
	for l := range n {
		copy(buf[k*span+l*stride+lay[k].cOff[l]:], cs[l][:64])
	}
	var st sha512x8.State
	for i := range rounds {
		st.Init()
		if err := st.Compress(buf[k*span:(k+1)*span], layouts[k]); err != nil {
			panic("auth: SHA512-CRYPT lane layout: " + err.Error())
		}
		if i == rounds-1 {
			break
		}
		k = class(i + 1)
		for l := range n {
			st.PutSum(buf[k*span+l*stride+lay[k].cOff[l]:], l)
		}
	}
	if rounds > 0 {
		for l := range n {
			st.PutSum(cs[l][:64], l)
		}
	}
}
