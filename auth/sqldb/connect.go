package sqldb

import (
	"fmt"
	"strconv"
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
			// The text is not quoted back: it may hold a password.
			return nil, fmt.Errorf("connect: want key=value at setting %d", len(out)+1)
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

// cutMaxConns removes Dovecot's maxconns=N from a connect string (it is
// Dovecot's, not the driver's) and returns N, 0 when absent. A sqlite
// connect string (a file name) has no settings and is returned as is.
func cutMaxConns(connect string) (string, int, error) {
	if !strings.Contains(connect, "maxconns=") {
		return connect, 0, nil
	}
	settings, err := ParseConnect(connect)
	if err != nil {
		return "", 0, err
	}
	n := 0
	var rest []string
	for _, s := range settings {
		if s.Key == "maxconns" {
			v, err := strconv.Atoi(s.Value)
			if err != nil || v <= 0 || v > 1000 {
				return "", 0, fmt.Errorf("connect: bad maxconns %q", s.Value)
			}
			n = v
			continue
		}
		rest = append(rest, s.Key+"="+quoteConnect(s.Value))
	}
	return strings.Join(rest, " "), n, nil
}

// quoteConnect quotes a connect value that needs it, in the form both
// ParseConnect and libpq read.
func quoteConnect(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\"\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
