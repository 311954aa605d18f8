package imapmsg

import "strings"

// Placeholders Dovecot puts in ENVELOPE addresses that lack a part.
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

// maxAddresses bounds the addresses parsed from one field.
const maxAddresses = 10000

// ParseAddressList parses an RFC 5322 address list leniently (obsolete
// forms, routes, groups, comments as display names) the way Dovecot fills
// ENVELOPE address lists: a missing local part becomes "MISSING_MAILBOX",
// a missing or invalid domain "MISSING_DOMAIN". Encoded words are left as
// they are.
func ParseAddressList(v string) []Address {
	a := &addrParser{s: newScanner(v)}
	a.list()
	return a.out
}

type addrParser struct {
	s   *scanner
	out []Address
}

// word is a lexical item of an address: an atom (dots included), a
// quoted string or a domain literal.
type word struct {
	text   string
	quoted bool
}

func isAddrSpecial(c byte) bool {
	return strings.IndexByte("()<>@,;:\\\"[]", c) >= 0
}

// atom reads a run of atom characters and dots (8-bit accepted).
func (a *addrParser) atom() string {
	s := a.s
	st := s.i
	for !s.done() {
		c := s.s[s.i]
		if c <= ' ' || c == 0x7f || isAddrSpecial(c) {
			break
		}
		s.i++
	}
	return s.s[st:s.i]
}

// words reads words up to a special character, remembering the last
// comment seen (a display name for "addr (Name)").
func (a *addrParser) words() (ws []word, comment string) {
	s := a.s
	for !s.done() && len(ws) < 1000 {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.i++
		case c == '(':
			comment = strings.TrimSpace(s.comment())
		case c == '"':
			ws = append(ws, word{text: s.quoted(), quoted: true})
		case isAddrSpecial(c):
			return ws, comment
		default:
			t := a.atom()
			if t == "" {
				s.i++
				continue
			}
			ws = append(ws, word{text: t})
		}
	}
	return ws, comment
}

func phrase(ws []word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}

func (a *addrParser) list() {
	s := a.s
	for !s.done() && len(a.out) < maxAddresses {
		s.skipCFWS()
		if s.consume(',') {
			continue
		}
		if s.done() {
			return
		}
		before := s.i
		a.mailboxOrGroup(true)
		if s.i == before {
			s.i++ // a stray special: skip it
		}
	}
}

// mailboxOrGroup parses one mailbox, or a group when allowed.
func (a *addrParser) mailboxOrGroup(groupOK bool) {
	s := a.s
	ws, comment := a.words()
	switch s.peek() {
	case ':':
		if !groupOK {
			s.i++
			return
		}
		s.i++
		a.out = append(a.out, Address{Mailbox: phrase(ws), GroupStart: true})
		for !s.done() && len(a.out) < maxAddresses {
			s.skipCFWS()
			if s.consume(';') {
				break
			}
			if s.consume(',') {
				continue
			}
			before := s.i
			a.mailboxOrGroup(false)
			if s.i == before {
				if s.peek() == ';' {
					continue
				}
				s.i++
			}
		}
		a.out = append(a.out, Address{GroupEnd: true})
		return
	case '<':
		s.i++
		addr := a.angle()
		addr.Name = phrase(ws)
		a.out = append(a.out, addr)
		_, _ = a.words() // trailing comments
		return
	}
	// addr-spec: the words read are the local part.
	var addr Address
	addr.Mailbox = joinLocal(ws)
	at := s.consume('@')
	if at {
		addr.Host = a.domain()
		if _, c := a.words(); c != "" {
			comment = c
		}
	}
	if !at && len(ws) == 0 {
		return
	}
	addr.Name = comment
	fillMissing(&addr)
	a.out = append(a.out, addr)
}

// joinLocal joins the words of a local part (word *("." word)).
func joinLocal(ws []word) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.text)
	}
	return b.String()
}

// angle parses the inside of <...> after '<': [route ":"] addr-spec ">".
func (a *addrParser) angle() Address {
	s := a.s
	var addr Address
	s.skipCFWS()
	if s.peek() == '@' {
		// Obsolete route: @a,@b:
		st := s.i
		for !s.done() && s.peek() != ':' && s.peek() != '>' {
			s.i++
		}
		if s.consume(':') {
			addr.ADL = strings.Join(strings.Fields(s.s[st:s.i-1]), "")
		} else {
			s.i = st
		}
	}
	ws, _ := a.words()
	addr.Mailbox = joinLocal(ws)
	if s.consume('@') {
		addr.Host = a.domain()
	}
	for !s.done() && s.peek() != '>' && s.peek() != ',' {
		s.i++
	}
	s.consume('>')
	fillMissing(&addr)
	return addr
}

// domain parses a dot-atom or domain literal; "" when invalid.
func (a *addrParser) domain() string {
	s := a.s
	s.skipCFWS()
	if s.peek() == '[' {
		st := s.i
		for !s.done() && s.peek() != ']' {
			s.i++
		}
		if s.consume(']') {
			return s.s[st:s.i]
		}
		return ""
	}
	d := a.atom()
	for {
		// Obsolete form: white space around dots.
		save := s.i
		s.skipCFWS()
		if s.peek() == '.' {
			s.i++
			s.skipCFWS()
			d += "." + a.atom()
			continue
		}
		s.i = save
		break
	}
	if d == "" || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return ""
	}
	return d
}

func fillMissing(addr *Address) {
	if addr.Mailbox == "" {
		addr.Mailbox = missingMailbox
	}
	if addr.Host == "" {
		addr.Host = missingDomain
	}
}
