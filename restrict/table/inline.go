package table

import (
	"strings"
)

// ParseInline parses the name part of an inline: table,
// "{ key=value, { key = text with spaces }, ... }".
func ParseInline(spec string) (*Hash, error) {
	ref := "inline:" + spec
	s := strings.TrimSpace(spec)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, &Error{File: ref, Msg: "need {key=value, ...}"}
	}
	s = s[1 : len(s)-1]
	h := &Hash{m: map[string]string{}}
	for {
		s = strings.TrimLeft(s, " \t\r\n,")
		if s == "" {
			break
		}
		var item string
		if s[0] == '{' {
			end := matchBrace(s)
			if end < 0 {
				return nil, &Error{File: ref, Msg: "unbalanced '{'"}
			}
			item, s = strings.TrimSpace(s[1:end]), s[end+1:]
		} else {
			i := strings.IndexAny(s, ", \t\r\n")
			if i < 0 {
				i = len(s)
			}
			item, s = s[:i], s[i:]
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, &Error{File: ref, Msg: "need key=value, got " + quoteShort(item)}
		}
		k = lowerASCII(k)
		if _, dup := h.m[k]; !dup {
			h.m[k] = v
		}
	}
	return h, nil
}

func matchBrace(s string) int {
	level := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				return i
			}
		}
	}
	return -1
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return "\"" + s + "\""
}

// parsePasswd makes a unix:passwd.byname table from /etc/passwd text:
// user name to the passwd line.
func parsePasswd(data []byte) *Hash {
	h := &Hash{m: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		name, _, ok := strings.Cut(line, ":")
		if ok && name != "" && !strings.HasPrefix(name, "#") {
			h.m[name] = line
		}
	}
	return h
}
