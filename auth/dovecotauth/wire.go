package dovecotauth

import (
	"bufio"
	"errors"
	"strings"
)

// escape applies Dovecot's tab-escaping to a parameter value: \x01
// followed by '0', '1', 't', 'r' or 'n' for NUL, \x01, TAB, CR and LF.
func escape(s string) string {
	if !strings.ContainsAny(s, "\x00\x01\t\r\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0:
			b.WriteString("\x010")
		case 1:
			b.WriteString("\x011")
		case '\t':
			b.WriteString("\x01t")
		case '\r':
			b.WriteString("\x01r")
		case '\n':
			b.WriteString("\x01n")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unescape reverses escape; unknown escapes are kept literally.
func unescape(s string) string {
	if !strings.Contains(s, "\x01") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 1 || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '0':
			b.WriteByte(0)
		case '1':
			b.WriteByte(1)
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(1)
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// params parses "key=value" and bare "key" parameters; empty fields are
// skipped (Dovecot emits them).
func params(fields []string) map[string]string {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		if f == "" {
			continue
		}
		k, v, _ := strings.Cut(f, "=")
		if _, dup := m[k]; !dup {
			m[k] = unescape(v)
		}
	}
	return m
}

var errLineTooLong = errors.New("dovecotauth: line too long")

// readLine reads one LF-terminated line of at most max bytes, without
// the terminator.
func readLine(r *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if buf == nil && err == nil && len(chunk) <= max {
			// The whole line was in the buffer: one copy.
			chunk = chunk[:len(chunk)-1]
			if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
				chunk = chunk[:n-1]
			}
			return string(chunk), nil
		}
		buf = append(buf, chunk...)
		if len(buf) > max {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r"), nil
	}
}

// splitTabs appends line's tab-separated fields to f, as strings.Split
// would give them, into f's array while it has room.
func splitTabs(f []string, line string) []string {
	for {
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			return append(f, line)
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
}

// paramGetter gives a parameter's unescaped value.
type paramGetter interface {
	get(key string) (string, bool)
}

// paramMap is parameters parsed by params.
type paramMap map[string]string

func (m paramMap) get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// paramList is parameters as they came, looked up as params would give
// them (the first occurrence of a key wins) without building a map.
type paramList []string

func (l paramList) get(key string) (string, bool) {
	for _, f := range l {
		if f == "" || !strings.HasPrefix(f, key) {
			continue
		}
		if rest := f[len(key):]; rest == "" {
			return "", true
		} else if rest[0] == '=' {
			return unescape(rest[1:]), true
		}
	}
	return "", false
}
