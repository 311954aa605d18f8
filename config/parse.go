package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Limits on what Parse reads.
const (
	// MaxLineLength is the longest physical line accepted, in bytes.
	MaxLineLength = 64 << 10
	// MaxFileSize is the largest configuration file accepted, in bytes.
	MaxFileSize = 4 << 20
)

// Setting is one "name = value" line as written (value unexpanded).
// Service is set for a per-service override ("submission/name = value").
type Setting struct {
	Service string
	Name    string
	Value   string
	Pos     Pos
}

// Key is the setting's name as written: "name" or "service/name".
func (s Setting) Key() string {
	if s.Service != "" {
		return s.Service + "/" + s.Name
	}
	return s.Name
}

// ParseSettings reads main.cf syntax from r and returns its settings in
// file order, without checking names against any schema. file names the
// input in errors. Syntax errors are returned together as an ErrorList,
// along with the settings that could be read.
func ParseSettings(file string, r io.Reader) ([]Setting, error) {
	var (
		out  []Setting
		errs ErrorList
		cur  strings.Builder
		pos  Pos
		have bool
	)
	flush := func() {
		if !have {
			return
		}
		have = false
		s, err := parseLine(cur.String(), pos)
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, s)
	}
	sc := bufio.NewScanner(io.LimitReader(r, MaxFileSize+1))
	sc.Buffer(make([]byte, 4096), MaxLineLength)
	line, size := 0, 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		size += len(b) + 1
		if size > MaxFileSize {
			errs = append(errs, &Error{Pos{file, line}, fmt.Sprintf("file larger than %d bytes", MaxFileSize)})
			return out, errs
		}
		b = bytes.TrimSuffix(b, []byte{'\r'})
		trimmed := bytes.TrimSpace(b)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if b[0] == ' ' || b[0] == '\t' {
			if !have {
				errs = append(errs, &Error{Pos{file, line}, "continuation line without a parameter before it"})
				continue
			}
			cur.WriteByte(' ')
			cur.Write(trimmed)
			continue
		}
		flush()
		cur.Reset()
		cur.Write(trimmed)
		pos = Pos{file, line}
		have = true
	}
	flush()
	if err := sc.Err(); err != nil {
		msg := "read error"
		if err == bufio.ErrTooLong {
			msg = fmt.Sprintf("line longer than %d bytes", MaxLineLength)
		}
		errs = append(errs, &Error{Pos{file, line + 1}, msg})
	}
	return out, errs.err()
}

// parseLine splits one logical line into a Setting.
func parseLine(s string, pos Pos) (Setting, *Error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return Setting{}, &Error{pos, fmt.Sprintf("missing '=' after parameter name %q", truncate(s))}
	}
	name = strings.TrimSpace(name)
	value = strings.TrimSpace(value)
	st := Setting{Name: name, Value: value, Pos: pos}
	if i := strings.IndexByte(name, '/'); i >= 0 {
		parts := strings.Split(name, "/")
		switch {
		case len(parts) == 2:
			st.Service, st.Name = parts[0], parts[1]
		case len(parts) == 3 && (parts[1] == "inet" || parts[1] == "unix"):
			st.Service, st.Name = parts[0], parts[2]
		default:
			return Setting{}, &Error{pos, fmt.Sprintf("bad per-service parameter %q: want service/name or service/type/name", truncate(name))}
		}
		if !validName(st.Service) {
			return Setting{}, &Error{pos, fmt.Sprintf("bad service name %q", truncate(st.Service))}
		}
	}
	if !validName(st.Name) {
		return Setting{}, &Error{pos, fmt.Sprintf("bad parameter name %q", truncate(st.Name))}
	}
	return st, nil
}

// validName reports whether s is a parameter or service name: letters,
// digits, '_', '-' and '.'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
