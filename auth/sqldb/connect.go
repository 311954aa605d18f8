package sqldb

import (
	"fmt"
	"strings"
)

// Setting is one key=value of a connect string.
type Setting struct{ Key, Value string }

// ParseConnect splits a Dovecot connect string ("host=db dbname=mail
// user=dovecot password=secret ssl_ca=/etc/ca.crt") into its settings,
// in order. A value may be in single or double quotes (with \ escaping
// the next character) to hold spaces.
func ParseConnect(s string) ([]Setting, error) {
	var out []Setting
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 || strings.ContainsAny(s[i:i+eq], " \t") {
			return nil, fmt.Errorf("connect: want key=value at %q", clip(s[i:]))
		}
		key := s[i : i+eq]
		i += eq + 1
		var v strings.Builder
		if i < len(s) && (s[i] == '\'' || s[i] == '"') {
			q := s[i]
			i++
			closed := false
			for ; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					v.WriteByte(s[i])
					continue
				}
				if s[i] == q {
					i++
					closed = true
					break
				}
				v.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("connect: unterminated quote in %s", key)
			}
		} else {
			for ; i < len(s) && s[i] != ' ' && s[i] != '\t'; i++ {
				v.WriteByte(s[i])
			}
		}
		out = append(out, Setting{key, v.String()})
	}
}
