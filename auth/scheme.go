package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// encoding is how a scheme's binary data is written after "{SCHEME}".
type encoding int

const (
	encText encoding = iota // the data is text (crypt strings, PHC strings)
	encB64                  // standard base64
	encHex                  // lower-case hexadecimal
)

// scheme is one password scheme: how to check and how to generate.
type scheme struct {
	name   string
	enc    encoding // default encoding
	rawLen int      // fixed decoded length, 0 when variable; used to guess hex vs base64
	// verify reports whether password matches the decoded data. It must
	// compare in constant time.
	verify func(data []byte, password string, o *VerifyOptions) (bool, error)
	// generate returns the raw (unencoded) data for password.
	generate func(password string, o *HashOptions) ([]byte, error)
	// parse checks the syntax of decoded data without the expensive
	// computation (used by ParseStored and the fuzz targets).
	parse func(data []byte) error
}

// schemes maps upper-case scheme names (and aliases) to schemes.
var schemes = map[string]*scheme{}

func register(s *scheme, aliases ...string) {
	schemes[s.name] = s
	for _, a := range aliases {
		schemes[a] = s
	}
}

// Schemes lists the names of the supported password schemes (without
// aliases), sorted.
func Schemes() []string {
	var out []string
	for k, s := range schemes {
		if k == s.name {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// HashOptions tunes Hash. The zero value gives Dovecot 2.3's defaults.
type HashOptions struct {
	// User is the user name; DIGEST-MD5 needs it (user@realm).
	User string
	// Rounds overrides the cost: rounds for SHA-crypt and PBKDF2 (default
	// 5000), the cost for BLF-CRYPT (default 5), iterations for SCRAM
	// (default 4096), t for Argon2. Values are clamped to each scheme's
	// range.
	Rounds int
	// Memory is Argon2's memory cost in KiB (default 32768 for ARGON2I,
	// 65536 for ARGON2ID, as Dovecot 2.3).
	Memory uint32
}

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	// DefaultScheme applies to stored values without a "{SCHEME}" prefix
	// (Dovecot's default_pass_scheme). Empty means "CRYPT", the
	// passwd-file default. A bare "$1$..." is always MD5-CRYPT.
	DefaultScheme string
	// User is the user name, needed by DIGEST-MD5.
	User string
}

// Stored is a parsed "{SCHEME.ENC}data" password.
type Stored struct {
	Scheme   string // upper-case canonical scheme name, e.g. "SHA512-CRYPT"
	Encoding string // "HEX", "B64" or "" (the scheme's default)
	Data     []byte // decoded data
}

// ErrMalformedHash means a stored password cannot be parsed.
var ErrMalformedHash = errors.New("auth: malformed stored password")

// ParseStored splits and decodes a stored password and checks its syntax
// without verifying anything. defaultScheme applies when there is no
// "{SCHEME}" prefix ("" means CRYPT).
func ParseStored(stored, defaultScheme string) (*Stored, error) {
	name, enc, data, ok := splitStored(stored, defaultScheme)
	if !ok {
		return nil, ErrMalformedHash
	}
	s := schemes[name]
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedScheme, name)
	}
	raw, err := decodeData(s, enc, data)
	if err != nil {
		return nil, err
	}
	if s.parse != nil {
		if err := s.parse(raw); err != nil {
			return nil, err
		}
	}
	return &Stored{Scheme: s.name, Encoding: enc, Data: raw}, nil
}

// splitStored returns the upper-case scheme name, the encoding suffix and
// the data of a stored password.
func splitStored(stored, defaultScheme string) (name, enc, data string, ok bool) {
	if strings.HasPrefix(stored, "{") {
		end := strings.IndexByte(stored, '}')
		if end < 0 || end > 64 {
			return "", "", "", false
		}
		name, data = stored[1:end], stored[end+1:]
	} else {
		name, data = defaultScheme, stored
		if strings.HasPrefix(stored, "$1$") {
			name = "MD5-CRYPT"
		}
		if name == "" {
			name = "CRYPT"
		}
	}
	name = strings.ToUpper(name)
	if base, suffix, found := strings.Cut(name, "."); found {
		switch suffix {
		case "HEX":
			enc = "HEX"
		case "B64", "BASE64":
			enc = "B64"
		default:
			return "", "", "", false
		}
		name = base
	}
	return name, enc, data, true
}

// decodeData decodes data per the explicit encoding or the scheme's
// default (guessing hex vs base64 for fixed-length schemes, as Dovecot).
func decodeData(s *scheme, enc, data string) ([]byte, error) {
	switch enc {
	case "HEX":
		return decodeHex(data)
	case "B64":
		return decodeB64(data)
	}
	switch s.enc {
	case encHex:
		if s.rawLen > 0 && len(data) != 2*s.rawLen {
			return decodeB64(data)
		}
		return decodeHex(data)
	case encB64:
		if s.rawLen > 0 && len(data) == 2*s.rawLen {
			return decodeHex(data)
		}
		return decodeB64(data)
	}
	return []byte(data), nil
}

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, ErrMalformedHash
	}
	return b, nil
}

func decodeB64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			return nil, ErrMalformedHash
		}
	}
	return b, nil
}

// Verify reports whether password matches stored, a Dovecot-style
// "{SCHEME}data" (or "{SCHEME.HEX}", "{SCHEME.B64}") password; without a
// prefix CRYPT is assumed. Comparisons are constant-time. A mismatch is
// (false, nil); an error means the stored value is unusable.
func Verify(stored, password string) (bool, error) {
	return VerifyWith(stored, password, VerifyOptions{})
}

// VerifyWith is Verify with options (default scheme, user name).
func VerifyWith(stored, password string, o VerifyOptions) (bool, error) {
	name, enc, data, ok := splitStored(stored, o.DefaultScheme)
	if !ok {
		return false, ErrMalformedHash
	}
	s := schemes[name]
	if s == nil {
		return false, fmt.Errorf("%w: %q", ErrUnsupportedScheme, name)
	}
	raw, err := decodeData(s, enc, data)
	if err != nil {
		return false, err
	}
	return s.verify(raw, password, &o)
}

// Hash returns password hashed with scheme ("SHA512-CRYPT",
// "SSHA256.HEX", ...) in Dovecot's stored form, "{SCHEME}data", with a
// random salt and Dovecot 2.3's default costs.
func Hash(scheme, password string) (string, error) {
	return HashWith(scheme, password, HashOptions{})
}

// HashWith is Hash with options (rounds, user name).
func HashWith(schemeName, password string, o HashOptions) (string, error) {
	name, enc, _, ok := splitStored("{"+schemeName+"}", "")
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, schemeName)
	}
	s := schemes[name]
	if s == nil || s.generate == nil {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, schemeName)
	}
	raw, err := s.generate(password, &o)
	if err != nil {
		return "", err
	}
	prefix := "{" + strings.ToUpper(schemeName) + "}"
	switch {
	case enc == "HEX" || enc == "" && s.enc == encHex:
		return prefix + hex.EncodeToString(raw), nil
	case enc == "B64" || enc == "" && s.enc == encB64:
		return prefix + base64.StdEncoding.EncodeToString(raw), nil
	}
	return prefix + string(raw), nil
}

// eq compares in constant time.
func eq(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// eqs compares strings in constant time.
func eqs(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomCryptSalt returns n random characters of the crypt(3) alphabet.
func randomCryptSalt(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = cryptAlphabet[b[i]&0x3f]
	}
	return string(b)
}
