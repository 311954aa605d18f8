package table

import (
	"errors"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/internal/sqltext"
)

// sqlQuery is a mysql_table(5)/pgsql_table(5) query with its
// expansions (%s %u %d %S %U %D %1-%9) turned into bound parameters:
// text holds the driver's placeholders, args the template each takes
// its value from. A quoted literal holding expansions ('%u@%d') is one
// parameter with the literal's text expanded. No part of a key is ever
// written into the SQL text.
type sqlQuery struct {
	text string
	args []string
}

// compileSQL rewrites q with bind(n) as the n-th placeholder.
func compileSQL(q string, bind func(int) string) (*sqlQuery, error) {
	var b strings.Builder
	out := &sqlQuery{}
	add := func(tmpl string) error {
		if err := checkPercent(tmpl); err != nil {
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
			if i+1 >= len(q) {
				return nil, errors.New("query ends with %")
			}
			if q[i+1] == '%' {
				b.WriteByte('%')
			} else if err := add(q[i : i+2]); err != nil {
				return nil, err
			}
			i++
		default:
			b.WriteByte(c)
		}
	}
	out.text = b.String()
	return out, nil
}

// checkPercent validates the %-expansions of a template.
func checkPercent(tmpl string) error {
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' {
			continue
		}
		i++
		if i >= len(tmpl) || !strings.ContainsRune("%sudSUD123456789", rune(tmpl[i])) {
			return fmt.Errorf("invalid %% expansion in %q", clipText(tmpl))
		}
	}
	return nil
}

// keyParts splits a lookup key as Postfix's db_common_expand does.
type keyParts struct {
	s, user, domain string
	addr            bool
}

func splitKeyParts(k string) keyParts {
	p := keyParts{s: k, user: k}
	if i := strings.LastIndexByte(k, '@'); i >= 0 {
		p.addr, p.user, p.domain = true, k[:i], k[i+1:]
	}
	return p
}

// expandPercent expands a template for the value v (lower-case
// expansions) and the input key k (upper-case ones). ok is false when a
// part the template needs is missing: Postfix then suppresses the
// query, or skips the result.
func expandPercent(tmpl string, v, k keyParts) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '%' || i+1 >= len(tmpl) {
			b.WriteByte(c)
			continue
		}
		i++
		p := v
		x := tmpl[i]
		if x >= 'A' && x <= 'Z' {
			p, x = k, x+'a'-'A'
		}
		switch {
		case x == '%':
			b.WriteByte('%')
		case x == 's':
			b.WriteString(p.s)
		case x == 'u':
			if p.addr && p.user == "" {
				return "", false
			}
			b.WriteString(p.user)
		case x == 'd':
			if !p.addr || p.domain == "" {
				return "", false
			}
			b.WriteString(p.domain)
		case x >= '1' && x <= '9':
			if !p.addr || p.domain == "" {
				return "", false
			}
			labels := strings.Split(p.domain, ".")
			n := int(x - '0')
			if n > len(labels) {
				return "", false
			}
			b.WriteString(labels[len(labels)-n])
		}
	}
	return b.String(), true
}
