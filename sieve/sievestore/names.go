package sievestore

import "unicode/utf8"

// MaxNameLength is Pigeonhole's limit on a script name, in characters.
const MaxNameLength = 256

// ValidName reports whether name may name a script: non-empty UTF-8 of
// at most MaxNameLength characters, without control characters (C0,
// DEL, C1, U+2028, U+2029; RFC 5804 section 1.6) and without "/" (the
// file storage's own rule). "." and ".." are names like others, as in
// Pigeonhole: their files are ".sieve" and "..sieve", inside the
// storage. A name whose file name would exceed 255 bytes is refused
// too.
func ValidName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	n := 0
	for _, r := range name {
		n++
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029, r == '/':
			return false
		}
	}
	// The file name must fit the file system's NAME_MAX (255 bytes);
	// Pigeonhole fails such names with an internal error instead.
	return n <= MaxNameLength && len(name)+len(Suffix) <= 255
}
