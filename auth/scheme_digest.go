package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"

	//lint:ignore SA1019 PLAIN-MD4 exists for compatibility with legacy stored passwords.
	"golang.org/x/crypto/md4"
)

// Digest schemes: plain and salted SHA/MD5 digests, PLAIN, CRAM-MD5,
// DIGEST-MD5.

func init() {
	digest := func(name string, h func() hash.Hash, enc encoding, aliases ...string) {
		size := h().Size()
		register(&scheme{name: name, enc: enc, rawLen: size,
			verify: func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
				d := h()
				d.Write([]byte(pw))
				return eq(d.Sum(nil), data), nil
			},
			parse: func(data []byte) error {
				if len(data) != size {
					return ErrMalformedHash
				}
				return nil
			},
			generate: func(pw string, _ *HashOptions) ([]byte, error) {
				d := h()
				d.Write([]byte(pw))
				return d.Sum(nil), nil
			}}, aliases...)
	}
	digest("SHA512", sha512.New, encB64)
	digest("SHA256", sha256.New, encB64)
	digest("SHA1", sha1.New, encB64, "SHA")
	digest("PLAIN-MD5", md5.New, encHex)
	digest("LDAP-MD5", md5.New, encB64)
	digest("PLAIN-MD4", md4.New, encHex)

	salted := func(name string, h func() hash.Hash) {
		size := h().Size()
		register(&scheme{name: name, enc: encB64,
			verify: func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
				if len(data) <= size {
					return false, ErrMalformedHash
				}
				d := h()
				d.Write([]byte(pw))
				d.Write(data[size:])
				return eq(d.Sum(nil), data[:size]), nil
			},
			parse: func(data []byte) error {
				if len(data) <= size {
					return ErrMalformedHash
				}
				return nil
			},
			generate: func(pw string, _ *HashOptions) ([]byte, error) {
				salt := randomBytes(4)
				d := h()
				d.Write([]byte(pw))
				d.Write(salt)
				return append(d.Sum(nil), salt...), nil
			}})
	}
	salted("SSHA512", sha512.New)
	salted("SSHA256", sha256.New)
	salted("SSHA", sha1.New)
	salted("SMD5", md5.New)

	register(&scheme{name: "PLAIN", enc: encText,
		verify: func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
			return eq(data, []byte(pw)), nil
		},
		generate: func(pw string, _ *HashOptions) ([]byte, error) { return []byte(pw), nil },
	}, "CLEAR", "CLEARTEXT")

	register(&scheme{name: "CRAM-MD5", enc: encHex, rawLen: 32,
		verify: func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
			if len(data) != 32 {
				return false, ErrMalformedHash
			}
			return eq(cramMD5Context(pw), data), nil
		},
		parse: func(data []byte) error {
			if len(data) != 32 {
				return ErrMalformedHash
			}
			return nil
		},
		generate: func(pw string, _ *HashOptions) ([]byte, error) { return cramMD5Context(pw), nil },
	}, "HMAC-MD5")

	register(&scheme{name: "DIGEST-MD5", enc: encHex, rawLen: 16,
		verify: func(data []byte, pw string, o *VerifyOptions) (bool, error) {
			if o.User == "" {
				return false, errNeedUser
			}
			return eq(digestMD5(o.User, pw), data), nil
		},
		generate: func(pw string, o *HashOptions) ([]byte, error) {
			if o.User == "" {
				return nil, errNeedUser
			}
			return digestMD5(o.User, pw), nil
		},
	})
}

var errNeedUser = errors.New("auth: DIGEST-MD5 needs the user name")

// digestMD5 is MD5("user:realm:password") with the user name split at "@".
func digestMD5(user, pw string) []byte {
	u, realm, _ := strings.Cut(user, "@")
	s := md5.Sum([]byte(u + ":" + realm + ":" + pw))
	return s[:]
}

// cramMD5Context returns Dovecot's stored CRAM-MD5 form: the MD5 states
// (A, B, C, D little-endian) after one block of key^opad, then after one
// block of key^ipad (FORMATS.md 4.3).
func cramMD5Context(pw string) []byte {
	key := []byte(pw)
	if len(key) > 64 {
		s := md5.Sum(key)
		key = s[:]
	}
	var block [64]byte
	out := make([]byte, 0, 32)
	for _, pad := range []byte{0x5c, 0x36} {
		for i := range block {
			block[i] = pad
			if i < len(key) {
				block[i] ^= key[i]
			}
		}
		h := md5.New()
		h.Write(block[:])
		st, _ := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		// st = "md5\x01" || a b c d (big-endian) || ...
		for w := range 4 {
			out = binary.LittleEndian.AppendUint32(out, binary.BigEndian.Uint32(st[4+4*w:]))
		}
	}
	clear(block[:])
	return out
}

// hmacMD5FromContext computes HMAC-MD5(key, msg) from a stored CRAM-MD5
// context, without knowing the key.
func hmacMD5FromContext(ctx []byte, msg []byte) ([]byte, error) {
	if len(ctx) != 32 {
		return nil, ErrMalformedHash
	}
	resume := func(words []byte) (hash.Hash, error) {
		st := make([]byte, 0, 4+16+64+8)
		st = append(st, "md5\x01"...)
		for w := range 4 {
			st = binary.BigEndian.AppendUint32(st, binary.LittleEndian.Uint32(words[4*w:]))
		}
		st = append(st, make([]byte, 64)...)
		st = binary.BigEndian.AppendUint64(st, 64)
		h := md5.New()
		err := h.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(st)
		return h, err
	}
	inner, err := resume(ctx[16:])
	if err != nil {
		return nil, err
	}
	inner.Write(msg)
	outer, err := resume(ctx[:16])
	if err != nil {
		return nil, err
	}
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil), nil
}

// hexLower is hex.EncodeToString, named for readability at call sites.
func hexLower(b []byte) string { return hex.EncodeToString(b) }

func init() {
	// PLAIN-TRUNC: "N-password" means only the first N bytes of the
	// password were stored; without the prefix it is plain.
	register(&scheme{name: "PLAIN-TRUNC", enc: encText,
		verify: func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
			s := string(data)
			if i := strings.IndexByte(s, '-'); i > 0 && i <= 4 {
				if n, err := strconv.Atoi(s[:i]); err == nil && n >= 0 {
					s = s[i+1:]
					if len(pw) > n {
						pw = pw[:n]
					}
				}
			}
			return eqs(s, pw), nil
		},
		generate: func(pw string, _ *HashOptions) ([]byte, error) {
			return []byte(strconv.Itoa(len(pw)) + "-" + pw), nil
		},
	})
}
