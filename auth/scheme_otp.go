package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"

	//lint:ignore SA1019 OTP's md4 variant exists for compatibility with stored data.
	"golang.org/x/crypto/md4"
)

// OTP is Dovecot's stored form of RFC 2289 one-time password state,
// "<algorithm> <sequence> <seed> <hex hash>": the 64-bit value after
// folding H(seed || password) and applying H-and-fold <sequence> times.
// Verifying a plain password recomputes it.

const maxOTPSeq = 10000

func init() {
	register(&scheme{name: "OTP", verify: verifyOTP, generate: genOTP,
		parse: func(d []byte) error { _, _, _, _, err := parseOTP(string(d)); return err }})
}

func otpHash(alg string) func() hash.Hash {
	switch alg {
	case "md4":
		return md4.New
	case "md5":
		return md5.New
	case "sha1":
		return sha1.New
	}
	return nil
}

// otpFold reduces a digest to 64 bits as RFC 2289 (appendix A) does; for
// SHA-1 the two result words are written little-endian.
func otpFold(alg string, d []byte) []byte {
	out := make([]byte, 8)
	if alg == "sha1" {
		w := [5]uint32{}
		for i := range w {
			w[i] = binary.BigEndian.Uint32(d[4*i:])
		}
		binary.LittleEndian.PutUint32(out, w[0]^w[2]^w[4])
		binary.LittleEndian.PutUint32(out[4:], w[1]^w[3])
		return out
	}
	for i := range out {
		out[i] = d[i] ^ d[i+8]
	}
	return out
}

func otpCompute(alg, seed, pw string, seq int) []byte {
	h := otpHash(alg)()
	h.Write([]byte(strings.ToLower(seed) + pw))
	cur := otpFold(alg, h.Sum(nil))
	for range seq {
		h.Reset()
		h.Write(cur)
		cur = otpFold(alg, h.Sum(nil))
	}
	return cur
}

func parseOTP(s string) (alg string, seq int, seed string, sum []byte, err error) {
	f := strings.Fields(s)
	if len(f) != 4 || otpHash(f[0]) == nil || len(f[2]) == 0 || len(f[2]) > 16 {
		return "", 0, "", nil, ErrMalformedHash
	}
	seq, err = strconv.Atoi(f[1])
	if err != nil || seq < 0 || seq > maxOTPSeq {
		return "", 0, "", nil, ErrMalformedHash
	}
	sum, err = hex.DecodeString(f[3])
	if err != nil || len(sum) != 8 {
		return "", 0, "", nil, ErrMalformedHash
	}
	return f[0], seq, f[2], sum, nil
}

func verifyOTP(data []byte, pw string, _ *VerifyOptions) (bool, error) {
	alg, seq, seed, sum, err := parseOTP(string(data))
	if err != nil {
		return false, err
	}
	return eq(otpCompute(alg, seed, pw, seq), sum), nil
}

func genOTP(pw string, _ *HashOptions) ([]byte, error) {
	seed := hex.EncodeToString(randomBytes(8))
	return []byte("sha1 1024 " + seed + " " + hex.EncodeToString(otpCompute("sha1", seed, pw, 1024))), nil
}
