package auth

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Vars holds the values of Dovecot's %-variables, keyed by long name
// ("user", "service", "rip", "lip", "home", ...). "username" and
// "domain" are derived from "user" when absent.
type Vars map[string]string

// shortVars maps Dovecot's one-letter variables to long names.
var shortVars = map[byte]string{
	'u': "user", 'n': "username", 'd': "domain", 'h': "home", 's': "service",
	'r': "rip", 'l': "lip", 'a': "lport", 'b': "rport", 'm': "mech",
	'c': "secured", 'p': "pid", 'w': "password", 'k': "cert",
}

// ErrBadTemplate means a template has a syntax error (unknown variable,
// unterminated "%{") or expands to more than 1 MiB.
var ErrBadTemplate = errors.New("auth: bad variable template")

// maxExpansion bounds what one template expands to (and so a field
// width): far above any path, query or DN, far below memory trouble.
const maxExpansion = 1 << 20

func (v Vars) get(name string) (string, bool) {
	if s, ok := v[name]; ok {
		return s, true
	}
	switch name {
	case "username", "user.username":
		u := v["user"]
		if i := strings.LastIndexByte(u, '@'); i >= 0 {
			return u[:i], true
		}
		return u, true
	case "domain", "user.domain":
		u := v["user"]
		if i := strings.LastIndexByte(u, '@'); i >= 0 {
			return u[i+1:], true
		}
		return "", true
	case "user", "home", "service", "rip", "lip", "lport", "rport", "mech", "secured", "pid",
		"password", "cert", "session", "orig_user", "original_user", "real_rip", "real_lip", "local_name":
		return "", true
	}
	return "", false
}

// Expand expands Dovecot's variables in tmpl: "%u", "%n", "%d", "%h",
// "%{user}" and the other names of [Vars], with modifiers between "%" and
// the name: L (lower case), U (upper case), R (reverse), M (MD5 hex),
// H (hash; with a width, modulo it), D (domain to LDAP DN), X (decimal to
// hex), E (escape \ and "), T (trim trailing space), and
// "[offset.]width" (substring; a leading 0 pads instead). "%%" is a
// literal "%". escape, when not nil, is applied to each expanded value
// (for SQL or LDAP backends).
func Expand(tmpl string, v Vars, escape func(string) string) (string, error) {
	if !strings.Contains(tmpl, "%") {
		return tmpl, nil
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(tmpl) {
			return "", fmt.Errorf("%w: trailing %%", ErrBadTemplate)
		}
		if tmpl[i] == '%' {
			b.WriteByte('%')
			continue
		}
		var mods []byte
		var width, offset int
		hasWidth, zeroPad := false, false
		for ; i < len(tmpl); i++ {
			c := tmpl[i]
			switch {
			case c >= '0' && c <= '9':
				if !hasWidth && c == '0' {
					zeroPad = true
				}
				hasWidth = true
				width = min(width*10+int(c-'0'), maxExpansion)
				continue
			case c == '.' && hasWidth:
				offset, width, hasWidth, zeroPad = width, 0, false, false
				continue
			case strings.IndexByte("LURMHDXET", c) >= 0:
				mods = append(mods, c)
				continue
			}
			break
		}
		if i >= len(tmpl) {
			return "", fmt.Errorf("%w: incomplete variable", ErrBadTemplate)
		}
		var name string
		if tmpl[i] == '{' {
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%w: unterminated %%{", ErrBadTemplate)
			}
			name = tmpl[i+1 : i+end]
			i += end
		} else if n, ok := shortVars[tmpl[i]]; ok {
			name = n
		} else {
			return "", fmt.Errorf("%w: unknown variable %%%c", ErrBadTemplate, tmpl[i])
		}
		val, ok := v.get(name)
		if !ok {
			return "", fmt.Errorf("%w: unknown variable %%{%s}", ErrBadTemplate, name)
		}
		for _, m := range mods {
			switch m {
			case 'L':
				val = strings.ToLower(val)
			case 'U':
				val = strings.ToUpper(val)
			case 'R':
				r := []byte(val)
				for a, z := 0, len(r)-1; a < z; a, z = a+1, z-1 {
					r[a], r[z] = r[z], r[a]
				}
				val = string(r)
			case 'M':
				s := md5.Sum([]byte(val))
				val = hex.EncodeToString(s[:])
			case 'H':
				h := strHash(val)
				if hasWidth && width > 0 {
					h %= uint32(width)
				}
				hasWidth, width = false, 0
				val = strconv.FormatUint(uint64(h), 16)
			case 'D':
				val = strings.ReplaceAll(val, ".", ",dc=")
			case 'X':
				n, err := strconv.ParseUint(val, 10, 64)
				if err == nil {
					val = strconv.FormatUint(n, 16)
				}
			case 'E':
				val = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`).Replace(val)
			case 'T':
				val = strings.TrimRight(val, " \t\r\n")
			}
		}
		val = val[min(offset, len(val)):]
		if hasWidth {
			if zeroPad {
				if len(val) < width {
					val = strings.Repeat("0", width-len(val)) + val
				}
			} else if width < len(val) {
				val = val[:width]
			}
		}
		if escape != nil {
			val = escape(val)
		}
		if b.Len()+len(val) > maxExpansion {
			return "", fmt.Errorf("%w: expands to more than %d bytes", ErrBadTemplate, maxExpansion)
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

// strHash is Dovecot's str_hash (the PJW/ELF string hash) used by %H.
func strHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h<<4 + uint32(s[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
			h ^= g
		}
	}
	return h
}
