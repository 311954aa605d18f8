package imap

import (
	"strconv"
	"strings"
)

// sectionSpec is a parsed BODY[...] / BINARY[...] section (RFC 9051
// 6.4.5): a part path and a specifier.
type sectionSpec struct {
	part   []int
	spec   string // "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
	fields []string
}

// fetchItem is one FETCH data item.
type fetchItem struct {
	name    string // FLAGS, UID, BODY, BINARY, BINARY.SIZE, ENVELOPE, ...
	peek    bool
	section *sectionSpec // for BODY[...], BINARY[...], BINARY.SIZE[...]
	partial bool
	offset  uint32
	count   uint32
}

// needsBody reports whether the item reads message content.
func (it *fetchItem) needsContent() bool {
	switch it.name {
	case "ENVELOPE", "BODYSTRUCTURE", "BODY", "BINARY", "BINARY.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "PREVIEW":
		return true
	}
	return false
}

// setsSeen reports whether fetching the item sets \Seen (RFC 9051 6.4.5).
func (it *fetchItem) setsSeen() bool {
	switch it.name {
	case "RFC822", "RFC822.TEXT":
		return true
	case "BODY", "BINARY":
		return it.section != nil && !it.peek
	}
	return false
}

// responseName is how the item is named in the FETCH response.
func (it *fetchItem) responseName() string {
	if it.section == nil {
		return it.name
	}
	var b strings.Builder
	b.WriteString(it.name)
	b.WriteByte('[')
	b.WriteString(it.section.String())
	b.WriteByte(']')
	if it.partial {
		b.WriteString("<" + strconv.FormatUint(uint64(it.offset), 10) + ">")
	}
	return b.String()
}

func (s *sectionSpec) String() string {
	var b strings.Builder
	for i, p := range s.part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.spec != "" {
		if len(s.part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.spec)
	}
	if strings.HasPrefix(s.spec, "HEADER.FIELDS") {
		b.WriteString(" (")
		for i, f := range s.fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// fetchModifiers are FETCH's (CHANGEDSINCE n VANISHED) (RFC 7162).
type fetchModifiers struct {
	changedSince uint64
	vanished     bool
}

// fetchItems parses the item list of FETCH: a macro, one item or a
// parenthesised list.
func (c *conn) fetchItems() ([]fetchItem, error) {
	b, err := c.r.peek()
	if err != nil {
		return nil, err
	}
	var items []fetchItem
	if b == '(' {
		err = c.r.list(func() error {
			if len(items) > 100 {
				return badf("Too many FETCH items.")
			}
			it, err := c.fetchItem(false)
			items = append(items, it...)
			return err
		})
		return items, err
	}
	return c.fetchItem(true)
}

func (c *conn) fetchItem(macros bool) ([]fetchItem, error) {
	a, err := c.r.atomFunc(func(b byte) bool { return isAtomChar(b) && b != '[' && b != '<' }, "FETCH item")
	if err != nil {
		return nil, err
	}
	name := strings.ToUpper(a)
	simple := func(names ...string) []fetchItem {
		out := make([]fetchItem, len(names))
		for i, n := range names {
			out[i] = fetchItem{name: n}
		}
		return out
	}
	if macros {
		switch name {
		case "ALL":
			return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"), nil
		case "FAST":
			return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE"), nil
		case "FULL":
			return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"), nil
		}
	}
	switch name {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODYSTRUCTURE", "UID",
		"RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "SAVEDATE", "EMAILID", "THREADID":
		if name == "MODSEQ" {
			c.enableCondstore()
		}
		return simple(name), nil
	case "PREVIEW":
		// RFC 8970: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"];
		// LAZY is the only modifier, and every preview is cheap enough
		// to compute at once.
		if b, err := c.r.br.Peek(2); err == nil && string(b) == " (" {
			if err := c.r.sp(); err != nil {
				return nil, err
			}
			n := 0
			err := c.r.list(func() error {
				a, err := c.r.atom()
				if err == nil && !strings.EqualFold(a, "LAZY") {
					err = badf("Unknown PREVIEW modifier.")
				}
				n++
				return err
			})
			if err == nil && n == 0 {
				err = badf("Empty PREVIEW modifier list.")
			}
			if err != nil {
				return nil, err
			}
		}
		return simple(name), nil
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
	default:
		return nil, badf("Unknown FETCH item " + strconv.Quote(a) + ".")
	}
	it := fetchItem{name: strings.TrimSuffix(name, ".PEEK"), peek: strings.HasSuffix(name, ".PEEK")}
	open, err := c.r.maybe('[')
	if err != nil {
		return nil, err
	}
	if !open {
		if name != "BODY" {
			return nil, badf("Expected '[' after " + name + ".")
		}
		return []fetchItem{it}, nil // BODY: the non-extensible BODYSTRUCTURE
	}
	sec, err := c.section(it.name != "BODY")
	if err != nil {
		return nil, err
	}
	it.section = sec
	if lt, err := c.r.maybe('<'); err != nil {
		return nil, err
	} else if lt {
		if it.name == "BINARY.SIZE" {
			return nil, badf("BINARY.SIZE takes no partial.")
		}
		if it.offset, err = c.r.number(); err != nil {
			return nil, err
		}
		it.count = ^uint32(0)
		if dot, err := c.r.maybe('.'); err != nil {
			return nil, err
		} else if dot {
			if it.count, err = c.r.nzNumber(); err != nil {
				return nil, err
			}
		}
		if err := c.r.expect('>', "'>'"); err != nil {
			return nil, err
		}
		it.partial = true
	}
	return []fetchItem{it}, nil
}

// section parses what is between '[' and ']' (the '[' consumed). binary
// restricts it to a part path (RFC 3516).
func (c *conn) section(binary bool) (*sectionSpec, error) {
	s := &sectionSpec{}
	if ok, err := c.r.maybe(']'); ok || err != nil {
		return s, err
	}
	text, err := c.r.atomFunc(func(b byte) bool {
		return b >= '0' && b <= '9' || b == '.' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
	}, "section")
	if err != nil {
		return nil, err
	}
	rest := text
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		i := strings.IndexByte(rest, '.')
		num := rest
		if i >= 0 {
			num, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || n > 100000 || len(s.part) >= 64 {
			return nil, badf("Invalid section part number.")
		}
		s.part = append(s.part, n)
		if i >= 0 && rest == "" {
			return nil, badf("Invalid section.")
		}
	}
	spec := strings.ToUpper(rest)
	switch spec {
	case "":
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.part) == 0 {
			return nil, badf("MIME needs a part number.")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := c.r.sp(); err != nil {
			return nil, err
		}
		err := c.r.list(func() error {
			f, err := c.r.astring()
			if len(s.fields) >= 200 {
				return badf("Too many header fields.")
			}
			s.fields = append(s.fields, strings.ToUpper(f))
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(s.fields) == 0 {
			return nil, badf("Empty header field list.")
		}
	default:
		return nil, badf("Invalid section specifier.")
	}
	if binary && spec != "" {
		return nil, badf("BINARY takes a part number only.")
	}
	s.spec = spec
	if err := c.r.expect(']', "']'"); err != nil {
		return nil, err
	}
	return s, nil
}
