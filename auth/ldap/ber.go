package ldap

import (
	"errors"
)

// The little BER (RFC 4511 section 5.1: definite lengths, one-byte
// tags) that the logins' requests and responses need, written into and
// read from reused buffers.

// BER tags of the LDAP messages used here.
const (
	tagInteger    = 0x02
	tagOctets     = 0x04
	tagBoolean    = 0x01
	tagEnum       = 0x0a
	tagSequence   = 0x30
	tagSet        = 0x31
	tagBindReq    = 0x60 // [APPLICATION 0]
	tagBindResp   = 0x61 // [APPLICATION 1]
	tagSearchReq  = 0x63 // [APPLICATION 3]
	tagSearchEnt  = 0x64 // [APPLICATION 4]
	tagSearchDone = 0x65 // [APPLICATION 5]
	tagSearchRef  = 0x73 // [APPLICATION 19]
	tagExtReq     = 0x77 // [APPLICATION 23]
	tagExtResp    = 0x78 // [APPLICATION 24]
	tagAuthSimple = 0x80 // [0] in BindRequest
	tagAuthSASL   = 0xa3 // [3] in BindRequest
	tagExtName    = 0x80 // [0] in ExtendedRequest
)

// errBER is a response that is not well-formed BER or LDAP.
var errBER = errors.New("ldap: malformed response")

// begin starts a constructed or primitive element: the tag and a
// one-byte length that end fixes.
func begin(b []byte, tag byte) ([]byte, int) {
	b = append(b, tag, 0)
	return b, len(b)
}

// end sets the length of the element begun at start (its content's
// first byte), moving the content when the length needs more bytes.
func end(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	k := 0
	for x := n; x > 0; x >>= 8 {
		k++
	}
	for range k {
		b = append(b, 0)
	}
	copy(b[start+k:], b[start:start+n])
	b[start-1] = 0x80 | byte(k)
	for i := range k {
		b[start+i] = byte(n >> (8 * (k - 1 - i)))
	}
	return b
}

// appendString appends a primitive element holding s.
func appendString(b []byte, tag byte, s string) []byte {
	b, at := begin(b, tag)
	b = append(b, s...)
	return end(b, at)
}

// appendInt appends an INTEGER or ENUMERATED of a value >= 0.
func appendInt(b []byte, tag byte, v int) []byte {
	b, at := begin(b, tag)
	k := 1
	for x := v; x > 0x7f; x >>= 8 {
		k++
	}
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return end(b, at)
}

// appendBool appends a BOOLEAN.
func appendBool(b []byte, v bool) []byte {
	x := byte(0)
	if v {
		x = 0xff
	}
	return append(b, tagBoolean, 1, x)
}

// next splits the first element off b: its tag, its content and what
// follows it.
func next(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errBER
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errBER // multi-byte tags: none in LDAP
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errBER
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hdr += k
	}
	if n < 0 || n > len(b)-hdr {
		return 0, nil, nil, errBER
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], nil
}

// expect splits off the first element, which must have tag.
func expect(b []byte, tag byte) (content, rest []byte, err error) {
	t, c, r, err := next(b)
	if err == nil && t != tag {
		err = errBER
	}
	return c, r, err
}

// parseInt reads an INTEGER's or ENUMERATED's content (at most 4 bytes).
func parseInt(c []byte) (int, error) {
	if len(c) == 0 || len(c) > 4 {
		return 0, errBER
	}
	v := int(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int(x)
	}
	return v, nil
}
