package sqldb

import (
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/sqltext"
)

// query is a Dovecot query with its %-variables turned into bound
// parameters: text holds the driver's placeholders, args the variable
// template each placeholder takes its value from.
type query struct {
	text string
	args []string
}

// compile rewrites a Dovecot query for database/sql. Each variable
// outside a string literal (WHERE name = %u) becomes one placeholder; a
// string literal holding variables ('%n@%d', '%u') becomes one
// placeholder whose value is the literal's text with the variables
// expanded. No value is ever written into the SQL text, so quotes,
// backslashes, "%" or NUL bytes in a user name cannot change the query.
// "%%" outside literals is a literal "%". bind returns the driver's
// placeholder for the n-th (1-based) parameter.
func compile(q string, bind func(n int) string) (*query, error) {
	var b strings.Builder
	out := &query{}
	add := func(tmpl string) error {
		if _, err := auth.Expand(tmpl, auth.Vars{}, nil); err != nil {
			return err
		}
		out.args = append(out.args, tmpl)
		b.WriteString(bind(len(out.args)))
		return nil
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'', '"':
			end, content, err := sqltext.Literal(q, i)
			if err != nil {
				return nil, err
			}
			if strings.Contains(content, "%") {
				if err := add(content); err != nil {
					return nil, err
				}
			} else {
				b.WriteString(q[i : end+1])
			}
			i = end
		case '%':
			n := variableLen(q[i:])
			if n == 0 {
				return nil, fmt.Errorf("%w: bad variable at %q", auth.ErrBadTemplate, clip(q[i:]))
			}
			if q[i:i+n] == "%%" {
				b.WriteByte('%')
			} else if err := add(q[i : i+n]); err != nil {
				return nil, err
			}
			i += n - 1
		default:
			b.WriteByte(c)
		}
	}
	out.text = b.String()
	return out, nil
}

// variableLen returns the length of the %-variable at the start of s
// ("%u", "%Ld", "%2.1n", "%{user}", "%%"), or 0.
func variableLen(s string) int {
	i := 1
	for i < len(s) && strings.IndexByte("LURMHDXET0123456789.", s[i]) >= 0 {
		i++
	}
	if i >= len(s) {
		return 0
	}
	if s[i] == '{' {
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return 0
		}
		return i + end + 1
	}
	return i + 1
}

// values expands the query's parameters for v.
func (q *query) values(v auth.Vars) ([]any, error) {
	out := make([]any, len(q.args))
	for i, t := range q.args {
		x, err := auth.Expand(t, v, nil)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}
