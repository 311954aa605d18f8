package auth

import (
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Crypt-family schemes: SHA512-CRYPT, SHA256-CRYPT, MD5-CRYPT, BLF-CRYPT
// and CRYPT (anything crypt(3) on Debian accepts that we implement).

func init() {
	register(&scheme{name: "SHA512-CRYPT", verify: verifyCrypt, parse: parseCrypt,
		generate: func(pw string, o *HashOptions) ([]byte, error) { return genSHACrypt('6', pw, o), nil }})
	register(&scheme{name: "SHA256-CRYPT", verify: verifyCrypt, parse: parseCrypt,
		generate: func(pw string, o *HashOptions) ([]byte, error) { return genSHACrypt('5', pw, o), nil }})
	register(&scheme{name: "MD5-CRYPT", verify: verifyCrypt, parse: parseCrypt,
		generate: func(pw string, _ *HashOptions) ([]byte, error) {
			return []byte(md5Crypt([]byte(pw), []byte(randomCryptSalt(8)))), nil
		}}, "MD5")
	register(&scheme{name: "BLF-CRYPT", verify: verifyCrypt, parse: parseCrypt, generate: genBcrypt})
	// Dovecot 2.3.19 on Debian 12 generates bcrypt for CRYPT.
	register(&scheme{name: "CRYPT", verify: verifyCrypt, parse: parseCrypt, generate: genBcrypt})
}

func genSHACrypt(id byte, pw string, o *HashOptions) []byte {
	st := &shaCryptSetting{id: id, rounds: shaCryptDefaultRounds, salt: randomCryptSalt(16)}
	if o.Rounds != 0 {
		st.rounds = max(min(o.Rounds, shaCryptMaxRounds), shaCryptMinRounds)
		st.customRounds = st.rounds != shaCryptDefaultRounds
	}
	return []byte(shaCrypt(st, []byte(pw)))
}

// bcryptMaxPassword is the number of password bytes bcrypt uses; crypt(3)
// ignores the rest, and so do we.
const bcryptMaxPassword = 72

func genBcrypt(pw string, o *HashOptions) ([]byte, error) {
	cost := 5
	if o.Rounds != 0 {
		cost = max(min(o.Rounds, 31), 4)
	}
	b := []byte(pw)
	if len(b) > bcryptMaxPassword {
		b = b[:bcryptMaxPassword]
	}
	h, err := bcrypt.GenerateFromPassword(b, cost)
	if err != nil {
		return nil, err
	}
	// Dovecot writes "$2y$", the same algorithm as x/crypto's "$2a$".
	if len(h) > 3 && h[2] == 'a' {
		h[2] = 'y'
	}
	return h, nil
}

// parseCrypt checks the syntax of a crypt(3) string we can verify.
func parseCrypt(data []byte) error {
	s := string(data)
	switch {
	case strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"):
		st, err := parseSHACrypt(s)
		if err != nil {
			return err
		}
		want := 86
		if st.id == '5' {
			want = 43
		}
		if len(st.hash) != want || !validCryptSalt(st.hash) {
			return ErrMalformedHash
		}
		return nil
	case strings.HasPrefix(s, "$1$"):
		_, h, err := parseMD5Crypt(s)
		if err != nil || len(h) != 22 || !validCryptSalt(h) {
			return ErrMalformedHash
		}
		return nil
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s)
	}
	return ErrUnsupportedScheme
}

// parseBcrypt checks "$2x$NN$<53 chars>".
func parseBcrypt(s string) error {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return ErrMalformedHash
	}
	switch s[2] {
	case 'a', 'b', 'y', 'x':
	default:
		return ErrMalformedHash
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < 4 || cost > 31 {
		return ErrMalformedHash
	}
	if !validCryptSalt(s[7:]) {
		return ErrMalformedHash
	}
	return nil
}

// verifyCrypt verifies any crypt string we implement.
func verifyCrypt(data []byte, password string, _ *VerifyOptions) (bool, error) {
	if err := parseCrypt(data); err != nil {
		return false, err
	}
	s := string(data)
	switch {
	case strings.HasPrefix(s, "$1$"):
		salt, _, _ := parseMD5Crypt(s)
		return eqs(md5Crypt([]byte(password), []byte(salt)), s), nil
	case strings.HasPrefix(s, "$2"):
		b := []byte(password)
		if len(b) > bcryptMaxPassword {
			b = b[:bcryptMaxPassword]
		}
		// x/crypto/bcrypt compares in constant time.
		err := bcrypt.CompareHashAndPassword(data, b)
		if err == bcrypt.ErrMismatchedHashAndPassword {
			return false, nil
		}
		return err == nil, err
	}
	st, err := parseSHACrypt(s)
	if err != nil {
		return false, err
	}
	if st.id == '6' {
		return eqs(sha512Crypt(st, []byte(password)), s), nil
	}
	return eqs(shaCrypt(st, []byte(password)), s), nil
}
