package auth

import (
	"crypto/md5"
	"strings"
)

// md5Crypt computes the "$1$salt$hash" MD5-crypt string (Poul-Henning
// Kamp's algorithm) for password; salt is at most 8 characters.
func md5Crypt(password, salt []byte) string {
	const magic = "$1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	alt := md5.New()
	alt.Write(password)
	alt.Write(salt)
	alt.Write(password)
	altSum := alt.Sum(nil)

	h := md5.New()
	h.Write(password)
	h.Write([]byte(magic))
	h.Write(salt)
	for n := len(password); n > 0; n -= 16 {
		h.Write(altSum[:min(n, 16)])
	}
	for n := len(password); n != 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(password[:1])
		}
	}
	final := h.Sum(nil)
	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(password)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(password)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(password)
		}
		final = h.Sum(final[:0])
	}
	out := make([]byte, 0, 3+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	out = cryptB64(out, final[0], final[6], final[12], 4)
	out = cryptB64(out, final[1], final[7], final[13], 4)
	out = cryptB64(out, final[2], final[8], final[14], 4)
	out = cryptB64(out, final[3], final[9], final[15], 4)
	out = cryptB64(out, final[4], final[10], final[5], 4)
	out = cryptB64(out, 0, 0, final[11], 2)
	return string(out)
}

// parseMD5Crypt splits "$1$salt$hash" into salt and hash.
func parseMD5Crypt(s string) (salt, hash string, err error) {
	rest, ok := strings.CutPrefix(s, "$1$")
	if !ok {
		return "", "", errBadCrypt
	}
	salt, hash, ok = strings.Cut(rest, "$")
	if !ok || len(salt) > 8 {
		return "", "", errBadCrypt
	}
	return salt, hash, nil
}
