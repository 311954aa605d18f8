// Package sqltext reads the SQL that configuration files hold, for the
// query templates of Dovecot's dovecot-sql.conf.ext (auth/sqldb) and of
// Postfix's mysql_table/pgsql_table (restrict/table), which turn their
// %-variables into bound parameters and must not look inside literals.
package sqltext

import (
	"errors"
	"strings"
)

// ErrUnterminated is returned by Literal for a literal without its
// closing quote.
var ErrUnterminated = errors.New("unterminated string literal")

// Literal reads the quoted SQL literal that starts at q[start] (its
// quote, ' or ") and returns the index of its closing quote and its text
// with doubled quotes and backslash escapes undone.
func Literal(q string, start int) (end int, text string, err error) {
	quote := q[start]
	var b strings.Builder
	for i := start + 1; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\\' && i+1 < len(q):
			i++
			b.WriteByte(q[i])
		case c == quote && i+1 < len(q) && q[i+1] == quote:
			i++
			b.WriteByte(quote)
		case c == quote:
			return i, b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return 0, "", ErrUnterminated
}
