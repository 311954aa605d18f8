package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Key-derivation schemes: ARGON2I, ARGON2ID, PBKDF2, SCRAM-SHA-1,
// SCRAM-SHA-256.

// Limits on parameters read from stored hashes, so that a corrupt entry
// cannot make a verification take unbounded memory or time.
const (
	maxArgon2Memory = 4 << 20 // KiB (4 GiB)
	maxArgon2Time   = 1 << 16
	maxKDFRounds    = 100_000_000
)

func init() {
	register(&scheme{name: "ARGON2I", verify: verifyArgon2("argon2i"), parse: parseArgon2Data("argon2i"),
		generate: genArgon2("argon2i", 32768, 4)})
	register(&scheme{name: "ARGON2ID", verify: verifyArgon2("argon2id"), parse: parseArgon2Data("argon2id"),
		generate: genArgon2("argon2id", 65536, 3)})
	register(&scheme{name: "PBKDF2", verify: verifyPBKDF2, generate: genPBKDF2,
		parse: func(d []byte) error { _, _, _, err := parsePBKDF2(string(d)); return err }})
	register(&scheme{name: "SCRAM-SHA-1", verify: verifySCRAM(sha1.New), generate: genSCRAM(sha1.New),
		parse: func(d []byte) error { _, err := ParseSCRAMCredentials(string(d), sha1.Size); return err }})
	register(&scheme{name: "SCRAM-SHA-256", verify: verifySCRAM(sha256.New), generate: genSCRAM(sha256.New),
		parse: func(d []byte) error { _, err := ParseSCRAMCredentials(string(d), sha256.Size); return err }})
}

// argon2Params is a parsed PHC string "$argon2id$v=19$m=..,t=..,p=..$salt$hash".
type argon2Params struct {
	variant    string
	m, t       uint32
	p          uint8
	salt, hash []byte
}

func parseArgon2(s, variant string) (*argon2Params, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != variant || parts[2] != "v=19" {
		return nil, ErrMalformedHash
	}
	a := &argon2Params{variant: variant}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, ErrMalformedHash
		}
		switch k {
		case "m":
			a.m = uint32(n)
		case "t":
			a.t = uint32(n)
		case "p":
			if n > 255 {
				return nil, ErrMalformedHash
			}
			a.p = uint8(n)
		default:
			return nil, ErrMalformedHash
		}
	}
	if a.t < 1 || a.t > maxArgon2Time || a.p < 1 || a.m < 8*uint32(a.p) || a.m > maxArgon2Memory {
		return nil, ErrMalformedHash
	}
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return nil, ErrMalformedHash
	}
	if a.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.hash) < 4 || len(a.hash) > 1024 {
		return nil, ErrMalformedHash
	}
	return a, nil
}

func (a *argon2Params) key(pw string) []byte {
	if a.variant == "argon2i" {
		return argon2.Key([]byte(pw), a.salt, a.t, a.m, a.p, uint32(len(a.hash)))
	}
	return argon2.IDKey([]byte(pw), a.salt, a.t, a.m, a.p, uint32(len(a.hash)))
}

func parseArgon2Data(variant string) func([]byte) error {
	return func(d []byte) error { _, err := parseArgon2(string(d), variant); return err }
}

func verifyArgon2(variant string) func([]byte, string, *VerifyOptions) (bool, error) {
	return func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
		a, err := parseArgon2(string(data), variant)
		if err != nil {
			return false, err
		}
		return eq(a.key(pw), a.hash), nil
	}
}

func genArgon2(variant string, m, t uint32) func(string, *HashOptions) ([]byte, error) {
	return func(pw string, o *HashOptions) ([]byte, error) {
		a := &argon2Params{variant: variant, m: m, t: t, p: 1, salt: randomBytes(16), hash: make([]byte, 32)}
		if o.Rounds > 0 {
			a.t = uint32(min(o.Rounds, maxArgon2Time))
		}
		if o.Memory > 0 {
			a.m = max(min(o.Memory, maxArgon2Memory), 8)
		}
		a.hash = a.key(pw)
		return fmt.Appendf(nil, "$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, a.m, a.t, a.p,
			base64.RawStdEncoding.EncodeToString(a.salt), base64.RawStdEncoding.EncodeToString(a.hash)), nil
	}
}

// parsePBKDF2 parses Dovecot's "$1$<salt>$<rounds>$<hex sha1 output>".
func parsePBKDF2(s string) (salt string, rounds int, sum []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "1" || parts[2] == "" {
		return "", 0, nil, ErrMalformedHash
	}
	rounds, err = strconv.Atoi(parts[3])
	if err != nil || rounds < 1 || rounds > maxKDFRounds {
		return "", 0, nil, ErrMalformedHash
	}
	sum, err = hex.DecodeString(parts[4])
	if err != nil || len(sum) == 0 || len(sum) > 64 {
		return "", 0, nil, ErrMalformedHash
	}
	return parts[2], rounds, sum, nil
}

func verifyPBKDF2(data []byte, pw string, _ *VerifyOptions) (bool, error) {
	salt, rounds, sum, err := parsePBKDF2(string(data))
	if err != nil {
		return false, err
	}
	k, err := pbkdf2.Key(sha1.New, pw, []byte(salt), rounds, len(sum))
	if err != nil {
		return false, err
	}
	return eq(k, sum), nil
}

func genPBKDF2(pw string, o *HashOptions) ([]byte, error) {
	rounds := 5000
	if o.Rounds > 0 {
		rounds = min(o.Rounds, maxKDFRounds)
	}
	salt := randomCryptSalt(16)
	k, err := pbkdf2.Key(sha1.New, pw, []byte(salt), rounds, sha1.Size)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "$1$%s$%d$%x", salt, rounds, k), nil
}

// SCRAMCredentials are stored SCRAM credentials (RFC 5802 section 3):
// Dovecot stores them as "iterations,b64 salt,b64 StoredKey,b64 ServerKey".
type SCRAMCredentials struct {
	Iterations           int
	Salt                 []byte
	StoredKey, ServerKey []byte
}

// String returns the Dovecot stored form (without the "{SCHEME}" prefix).
func (c *SCRAMCredentials) String() string {
	e := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%d,%s,%s,%s", c.Iterations, e(c.Salt), e(c.StoredKey), e(c.ServerKey))
}

// ParseSCRAMCredentials parses Dovecot's stored SCRAM form; size is the
// hash's output size (20 for SHA-1, 32 for SHA-256).
func ParseSCRAMCredentials(s string, size int) (*SCRAMCredentials, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, ErrMalformedHash
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 || n > maxKDFRounds {
		return nil, ErrMalformedHash
	}
	c := &SCRAMCredentials{Iterations: n}
	if c.Salt, err = base64.StdEncoding.DecodeString(parts[1]); err != nil || len(c.Salt) == 0 {
		return nil, ErrMalformedHash
	}
	if c.StoredKey, err = base64.StdEncoding.DecodeString(parts[2]); err != nil || len(c.StoredKey) != size {
		return nil, ErrMalformedHash
	}
	if c.ServerKey, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(c.ServerKey) != size {
		return nil, ErrMalformedHash
	}
	return c, nil
}

// NewSCRAMCredentials derives SCRAM credentials from a password (RFC 5802:
// SaltedPassword = Hi(password, salt, i); StoredKey = H(HMAC(SaltedPassword,
// "Client Key")); ServerKey = HMAC(SaltedPassword, "Server Key")).
func NewSCRAMCredentials(h func() hash.Hash, password string, salt []byte, iterations int) (*SCRAMCredentials, error) {
	salted, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return nil, err
	}
	ck := hmacSum(h, salted, []byte("Client Key"))
	sk := h()
	sk.Write(ck)
	return &SCRAMCredentials{Iterations: iterations, Salt: salt, StoredKey: sk.Sum(nil),
		ServerKey: hmacSum(h, salted, []byte("Server Key"))}, nil
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

func verifySCRAM(h func() hash.Hash) func([]byte, string, *VerifyOptions) (bool, error) {
	return func(data []byte, pw string, _ *VerifyOptions) (bool, error) {
		c, err := ParseSCRAMCredentials(string(data), h().Size())
		if err != nil {
			return false, err
		}
		got, err := NewSCRAMCredentials(h, pw, c.Salt, c.Iterations)
		if err != nil {
			return false, err
		}
		return eq(got.StoredKey, c.StoredKey), nil
	}
}

func genSCRAM(h func() hash.Hash) func(string, *HashOptions) ([]byte, error) {
	return func(pw string, o *HashOptions) ([]byte, error) {
		it := 4096
		if o.Rounds > 0 {
			it = min(o.Rounds, maxKDFRounds)
		}
		c, err := NewSCRAMCredentials(h, pw, randomBytes(16), it)
		if err != nil {
			return nil, err
		}
		return []byte(c.String()), nil
	}
}
