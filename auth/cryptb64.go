package auth

// cryptAlphabet is the alphabet of crypt(3)'s base64 variant, used by
// MD5-crypt and SHA-crypt for salts and hashes.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptB64 appends n characters encoding the 24-bit value b2<<16|b1<<8|b0,
// least significant six bits first, as crypt(3) does.
func cryptB64(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	for ; n > 0; n-- {
		dst = append(dst, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return dst
}

// validCryptSalt reports whether s uses only the crypt(3) alphabet.
func validCryptSalt(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
