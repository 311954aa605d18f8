package ldap

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// filterTmpl is a search filter template (pass_filter, user_filter)
// compiled once: where every variable lands inside an assertion value,
// a search puts the variables' values into the filter's BER encoding
// instead of escaping them into the text and compiling that again.
// Values go in unescaped, which is what compiling the escaped text
// gives (go-ldap's EscapeFilter escapes every byte that is special or
// not ASCII, and CompileFilter decodes the escapes back).
type filterTmpl struct {
	tmpl *auth.Template
	root *fnode // nil: expand and compile at every search
	vars int    // variable occurrences in tmpl
}

// fnode is one element of a compiled filter: constructed (kids) or
// primitive (segs: literal bytes and variable values).
type fnode struct {
	tag  byte
	kids []*fnode
	segs []fseg
}

// fseg is literal bytes, or the value of variable occurrence v (>= 0).
type fseg struct {
	lit []byte
	v   int
}

// sentinel marks variable occurrence i in the text compiled once.
func sentinel(i int) string { return "yUbInVaR" + strconv.Itoa(i) + "Q" }

var sentinelRE = regexp.MustCompile(`yUbInVaR([0-9]+)Q`)

// newFilterTmpl parses and compiles filter.
func newFilterTmpl(filter string) (*filterTmpl, error) {
	t, err := auth.ParseTemplate(filter)
	if err != nil {
		return nil, err
	}
	f := &filterTmpl{tmpl: t}
	// Placeholders must compile, as they did before templates.
	x, err := t.Expand(auth.Vars{"user": "x@y"}, ldapc.EscapeFilter)
	if err == nil {
		_, err = ldapc.CompileFilter(x)
	}
	if err != nil {
		return nil, err
	}
	if strings.Contains(filter, "yUbInVaR") {
		return f, nil // the marker is in the text itself: no template
	}
	x, err = t.Expand(auth.Vars{"user": "x@y"}, func(string) string {
		f.vars++
		return sentinel(f.vars - 1)
	})
	if err != nil {
		return f, nil
	}
	p, err := ldapc.CompileFilter(x)
	if err != nil {
		return f, nil
	}
	seen := make([]int, f.vars)
	root, ok := convert(p, false, seen)
	for _, n := range seen {
		ok = ok && n == 1
	}
	if ok {
		f.root = root
	}
	return f, nil
}

// convert makes p an fnode; value says p is an assertion value, the
// only place a variable may be. seen counts the variables found.
func convert(p *ber.Packet, value bool, seen []int) (*fnode, bool) {
	if p.Tag >= 31 {
		return nil, false
	}
	n := &fnode{tag: byte(p.ClassType) | byte(p.TagType) | byte(p.Tag)}
	if p.TagType == ber.TypeConstructed {
		for i, c := range p.Children {
			v := false
			switch n.tag {
			case 0xa3, 0xa5, 0xa6, 0xa8: // equality, >=, <=, ~=: type, value
				v = i == 1
			case 0x30: // the substrings of a substring filter
				v = true
			case 0xa9: // extensible match: its [3] matchValue
				v = c.Tag == 3 && c.ClassType == ber.ClassContext
			}
			k, ok := convert(c, v, seen)
			if !ok {
				return nil, false
			}
			n.kids = append(n.kids, k)
		}
		return n, true
	}
	data := p.Data.Bytes()
	last := 0
	for _, m := range sentinelRE.FindAllSubmatchIndex(data, -1) {
		i, err := strconv.Atoi(string(data[m[2]:m[3]]))
		if !value || err != nil || i >= len(seen) {
			return nil, false
		}
		seen[i]++
		if m[0] > last {
			n.segs = append(n.segs, fseg{lit: bytes.Clone(data[last:m[0]]), v: -1})
		}
		n.segs = append(n.segs, fseg{v: i})
		last = m[1]
	}
	if last < len(data) || len(n.segs) == 0 {
		n.segs = append(n.segs, fseg{lit: bytes.Clone(data[last:]), v: -1})
	}
	return n, true
}

// appendTo appends the filter for v's values to b. The text, for logs,
// is made only when asked for (text).
func (f *filterTmpl) appendTo(b []byte, v auth.Vars) ([]byte, error) {
	if f.root != nil {
		var arr [4]string
		vals := arr[:0]
		if _, err := f.tmpl.Expand(v, func(s string) string {
			vals = append(vals, s)
			return ""
		}); err != nil {
			return b, err
		}
		usable := len(vals) == f.vars
		for _, s := range vals {
			// An empty value can change the kind of filter ("(cn=%u*)"
			// becomes a presence filter): compile the text then.
			usable = usable && s != ""
		}
		if usable {
			return encodeNode(b, f.root, vals), nil
		}
	}
	x, err := f.text(v)
	if err != nil {
		return b, err
	}
	p, err := ldapc.CompileFilter(x)
	if err != nil {
		return b, err
	}
	return append(b, p.Bytes()...), nil
}

// text is the filter for v as text, with the values escaped.
func (f *filterTmpl) text(v auth.Vars) (string, error) {
	return f.tmpl.Expand(v, ldapc.EscapeFilter)
}

func encodeNode(b []byte, n *fnode, vals []string) []byte {
	b, at := begin(b, n.tag)
	if n.kids != nil || n.segs == nil {
		for _, k := range n.kids {
			b = encodeNode(b, k, vals)
		}
		return end(b, at)
	}
	for _, s := range n.segs {
		if s.v >= 0 {
			b = append(b, vals[s.v]...)
		} else {
			b = append(b, s.lit...)
		}
	}
	return end(b, at)
}

// compileFilter compiles a filter text to BER.
func compileFilter(filter string) ([]byte, error) {
	p, err := ldapc.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", filter, err)
	}
	return p.Bytes(), nil
}
