package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt limits from Drepper's specification "Unix crypt using SHA-256
// and SHA-512".
const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
)

var errBadCrypt = errors.New("auth: malformed crypt string")

// shaCryptSetting is a parsed "$6$[rounds=N$]salt[$hash]" string.
type shaCryptSetting struct {
	id           byte // '5' or '6'
	rounds       int
	customRounds bool // "rounds=" was present and is echoed
	salt         string
	hash         string // the encoded hash part, "" in a bare setting
}

// parseSHACrypt parses a SHA-crypt setting or full hash. Rounds are
// clamped to the specification's range and the salt truncated to 16
// characters, as the specification requires.
func parseSHACrypt(s string) (*shaCryptSetting, error) {
	if len(s) < 3 || s[0] != '$' || (s[1] != '5' && s[1] != '6') || s[2] != '$' {
		return nil, errBadCrypt
	}
	st := &shaCryptSetting{id: s[1], rounds: shaCryptDefaultRounds}
	rest := s[3:]
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found || num == "" || len(num) > 10 {
			return nil, errBadCrypt
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return nil, errBadCrypt
		}
		st.rounds = int(max(min(n, shaCryptMaxRounds), shaCryptMinRounds))
		st.customRounds = true
		rest = after
	}
	salt, h, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt]
	}
	st.salt, st.hash = salt, h
	if strings.ContainsAny(st.salt, "\x00\n:") {
		return nil, errBadCrypt
	}
	return st, nil
}

// shaCrypt computes the full SHA-crypt string for password under st.
func shaCrypt(st *shaCryptSetting, password []byte) string {
	var newHash func() hash.Hash
	if st.id == '5' {
		newHash = sha256.New
	} else {
		newHash = sha512.New
	}
	h := newHash()
	a, p, s := shaCryptPrepare(h, []byte(st.salt), password)
	c := shaCryptRounds(h, st.rounds, a, p, s)
	clear(p)
	return shaCryptEncode(st, c)
}

// shaCryptPrepare computes digest A (the first round's input) and the P
// and S sequences of Drepper's specification, steps 1-20.
func shaCryptPrepare(h hash.Hash, salt, password []byte) (a, p, s []byte) {
	h.Reset()
	size := h.Size()

	// Digest B = H(password, salt, password).
	h.Write(password)
	h.Write(salt)
	h.Write(password)
	b := h.Sum(make([]byte, 0, size))

	// Digest A.
	h.Reset()
	h.Write(password)
	h.Write(salt)
	n := len(password)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n = len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(password)
		}
	}
	a = h.Sum(make([]byte, 0, size))

	// Digest DP and the P sequence.
	h.Reset()
	for range len(password) {
		h.Write(password)
	}
	dp := h.Sum(make([]byte, 0, size))
	p = repeatTo(dp, len(password))

	// Digest DS and the S sequence.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	ds := h.Sum(make([]byte, 0, size))
	s = repeatTo(ds, len(salt))
	return a, p, s
}

// shaCryptRounds runs the specification's step 21 on c (digest A),
// which it overwrites with and returns as the final digest.
func shaCryptRounds(h hash.Hash, rounds int, c, p, s []byte) []byte {
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// shaCryptEncode formats the final digest c as a crypt string.
func shaCryptEncode(st *shaCryptSetting, c []byte) string {
	out := make([]byte, 0, 3+len("rounds=$")+10+len(st.salt)+1+86)
	out = append(out, '$', st.id, '$')
	if st.customRounds {
		out = append(out, "rounds="...)
		out = strconv.AppendInt(out, int64(st.rounds), 10)
		out = append(out, '$')
	}
	out = append(out, st.salt...)
	out = append(out, '$')
	if st.id == '5' {
		for i := range 10 {
			f := (i * 21) % 30
			out = cryptB64(out, c[f], c[(f+10)%30], c[(f+20)%30], 4)
		}
		out = cryptB64(out, 0, c[31], c[30], 3)
	} else {
		for i := range 21 {
			f := (i * 22) % 63
			out = cryptB64(out, c[f], c[(f+21)%63], c[(f+42)%63], 4)
		}
		out = cryptB64(out, 0, 0, c[63], 2)
	}
	return string(out)
}

// repeatTo returns n bytes made of d repeated.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(d) {
		copy(out[i:], d)
	}
	return out
}

// SHACrypt returns the crypt(3) string for password and a setting such as
// "$6$rounds=10000$salt" or "$5$salt" (a full hash is accepted too: its
// hash part is ignored), following Drepper's SHA-crypt specification:
// rounds are clamped to 1000..999999999, salts truncated to 16 characters.
func SHACrypt(setting, password string) (string, error) {
	st, err := parseSHACrypt(setting)
	if err != nil {
		return "", err
	}
	return shaCrypt(st, []byte(password)), nil
}
