package imapbench

import "strings"

// response = continue-req / response-data / response-tagged (a
// response-fatal is an untagged BYE).
func (p *parser) response(r *reply) {
	switch {
	case p.accept("+"):
		r.Tag = "+"
		if p.accept(" ") {
			r.Text = p.text()
		}
		p.crlf()
		return
	case p.accept("* "):
		r.Tag = "*"
		p.untagged(r)
		p.crlf()
		return
	}
	// tag = 1*<any ASTRING-CHAR except "+">
	s := p.i
	for p.i < len(p.b) && (isAtomChar(p.b[p.i]) && p.b[p.i] != '+' || p.b[p.i] == ']') {
		p.i++
	}
	if p.i == s {
		p.fail("expected a tag, * or +")
	}
	r.Tag = string(p.b[s:p.i])
	p.sp()
	r.Status = strings.ToUpper(p.atom())
	switch r.Status {
	case "OK", "NO", "BAD":
	default:
		p.fail("tagged reply's status is not OK, NO or BAD")
	}
	p.sp()
	p.respText(r)
	p.crlf()
}

func (p *parser) untagged(r *reply) {
	if isDigit(p.peek()) {
		r.Num = p.number()
		p.sp()
		r.Kind = strings.ToUpper(p.atom())
		switch r.Kind {
		case "EXISTS", "RECENT":
		case "EXPUNGE":
			if r.Num == 0 {
				p.fail("EXPUNGE of message 0")
			}
		case "FETCH":
			if r.Num == 0 {
				p.fail("FETCH of message 0")
			}
			p.sp()
			r.Fetch = p.msgAtt()
		default:
			p.fail("unknown numbered reply %q", r.Kind)
		}
		return
	}
	r.Kind = strings.ToUpper(p.atom())
	switch r.Kind {
	case "OK", "NO", "BAD", "PREAUTH", "BYE":
		r.Status, r.Kind = r.Kind, ""
		p.sp()
		p.respText(r)
	case "CAPABILITY":
		r.Words = p.capabilities()
	case "ENABLED":
		for p.accept(" ") {
			r.Words = append(r.Words, strings.ToUpper(p.atom()))
		}
	case "FLAGS":
		p.sp()
		r.Flags = p.flagList(false)
	case "LIST", "LSUB":
		p.sp()
		r.Flags = p.flagList(false)
		p.sp()
		if !p.accept("NIL") {
			if d := p.quoted(); len(d) != 1 {
				p.fail("hierarchy delimiter is not one character")
			}
		}
		p.sp()
		r.Mailbox = p.mailbox()
		if p.accept(" ") {
			if p.peek() != '(' {
				p.fail("expected LIST extended data")
			}
			p.value()
		}
	case "SEARCH":
		for p.accept(" ") {
			if p.accept("(MODSEQ ") {
				r.ModSeq = p.modseq()
				p.expect(")")
				break
			}
			r.Nums = append(r.Nums, p.nz())
		}
	case "ESEARCH":
		for p.accept(" ") {
			p.value()
		}
	case "STATUS":
		p.sp()
		r.Mailbox = p.mailbox()
		p.sp()
		p.expect("(")
		r.Items = map[string]uint64{}
		for p.peek() != ')' {
			if len(r.Items) > 0 {
				p.sp()
			}
			name := strings.ToUpper(p.atom())
			p.sp()
			switch name {
			case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "DELETED":
				r.Items[name] = uint64(p.number())
			case "SIZE", "HIGHESTMODSEQ", "DELETED-STORAGE":
				r.Items[name] = p.numberMax(1<<63 - 1)
			default:
				p.fail("unknown STATUS item %q", name)
			}
		}
		p.i++
	case "ID":
		p.sp()
		if !p.accept("NIL") {
			if p.peek() != '(' {
				p.fail("expected ID's list")
			}
			p.value()
		}
	case "NAMESPACE":
		for i := 0; i < 3; i++ {
			p.sp()
			if !p.accept("NIL") {
				if p.peek() != '(' {
					p.fail("expected a namespace list")
				}
				p.value()
			}
		}
	case "VANISHED":
		p.sp()
		if p.accept("(EARLIER) ") {
			r.Earlier = true
		}
		r.Nums = p.seqSet(true)
	default:
		p.fail("unknown untagged reply %q", r.Kind)
	}
}

// capabilities reads 1*(SP capability), which must name IMAP4rev1 or
// IMAP4rev2.
func (p *parser) capabilities() []string {
	var caps []string
	rev := false
	for p.accept(" ") {
		c := strings.ToUpper(p.atom())
		rev = rev || c == "IMAP4REV1" || c == "IMAP4REV2"
		caps = append(caps, c)
	}
	if !rev {
		p.fail("capability list without IMAP4rev1 or IMAP4rev2")
	}
	return caps
}

// respText reads resp-text: ["[" resp-text-code "]" SP] text.
func (p *parser) respText(r *reply) {
	if p.accept("[") {
		p.respTextCode(r)
		p.expect("]")
		if !p.accept(" ") {
			return
		}
	}
	r.Text = p.text()
}

func (p *parser) respTextCode(r *reply) {
	r.Code = strings.ToUpper(p.atom())
	switch r.Code {
	case "ALERT", "PARSE", "READ-ONLY", "READ-WRITE", "TRYCREATE", "UIDNOTSTICKY", "NOMODSEQ", "CLOSED":
	case "CAPABILITY":
		r.Words = p.capabilities()
	case "PERMANENTFLAGS":
		p.sp()
		r.Flags = p.flagList(true)
	case "UIDNEXT", "UIDVALIDITY", "UNSEEN":
		p.sp()
		r.CodeNum = uint64(p.nz())
	case "HIGHESTMODSEQ":
		p.sp()
		r.CodeNum = p.modseq()
	case "APPENDUID":
		p.sp()
		r.CodeNum = uint64(p.nz())
		p.sp()
		r.CodeSets = [][]uint32{p.seqSet(true)}
	case "COPYUID":
		p.sp()
		r.CodeNum = uint64(p.nz())
		p.sp()
		src := p.seqSet(true)
		p.sp()
		r.CodeSets = [][]uint32{src, p.seqSet(true)}
	case "MODIFIED":
		p.sp()
		r.CodeSets = [][]uint32{p.seqSet(true)}
	case "BADCHARSET":
		if p.accept(" (") {
			for n := 0; p.peek() != ')'; n++ {
				if n > 0 {
					p.sp()
				}
				p.astring()
			}
			p.i++
		}
	default:
		// atom [SP 1*<any TEXT-CHAR except "]">]
		if p.accept(" ") {
			s := p.i
			for p.i < len(p.b) && p.b[p.i] != ']' && p.b[p.i] != '\r' && p.b[p.i] != '\n' && p.b[p.i] != 0 {
				p.i++
			}
			if p.i == s {
				p.fail("empty response code argument")
			}
		}
	}
}

// msgAtt reads "(" msg-att-item *(SP msg-att-item) ")".
func (p *parser) msgAtt() *fetchData {
	f := &fetchData{}
	p.expect("(")
	for {
		p.msgAttItem(f)
		if p.accept(")") {
			return f
		}
		p.sp()
	}
}

func (p *parser) msgAttItem(f *fetchData) {
	// the item's name is an atom up to a section's "["
	s := p.i
	for p.i < len(p.b) && isAtomChar(p.b[p.i]) && p.b[p.i] != '[' {
		p.i++
	}
	if p.i == s {
		p.fail("expected a FETCH item")
	}
	name := strings.ToUpper(string(p.b[s:p.i]))
	switch name {
	case "FLAGS":
		p.sp()
		f.Flags, f.HasFlags = p.flagList(false), true
	case "UID":
		p.sp()
		f.UID = p.nz()
	case "MODSEQ":
		p.sp()
		p.expect("(")
		f.ModSeq, f.HasModSeq = p.modseq(), true
		p.expect(")")
	case "INTERNALDATE":
		p.sp()
		p.dateTime()
	case "RFC822.SIZE":
		p.sp()
		p.numberMax(1<<63 - 1)
	case "ENVELOPE":
		p.sp()
		p.envelope()
	case "BODYSTRUCTURE":
		p.sp()
		if p.peek() != '(' {
			p.fail("expected a body structure")
		}
		p.value()
	case "BODY", "BINARY", "BINARY.SIZE":
		if p.peek() == '[' {
			name += "[]"
			p.section(name != "BODY[]")
			if name != "BINARY.SIZE[]" && p.accept("<") {
				p.number()
				p.expect(">")
			}
			p.sp()
			switch {
			case name == "BINARY.SIZE[]":
				p.numberMax(1<<63 - 1)
			case p.accept("NIL"):
			case name == "BINARY[]":
				p.literal(true)
			default:
				p.str()
			}
			break
		}
		if name != "BODY" {
			p.fail("%q without a section", name)
		}
		p.sp()
		if p.peek() != '(' {
			p.fail("expected a body structure")
		}
		p.value()
	case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
		p.sp()
		p.nstring()
	default:
		p.fail("unknown FETCH item %q", name)
	}
	f.Items = append(f.Items, name)
}

// section reads "[" [section-spec] "]", or section-binary's "["
// [section-part] "]" when binary.
func (p *parser) section(binary bool) {
	p.expect("[")
	if p.accept("]") {
		return
	}
	part := false
	for isDigit(p.peek()) {
		p.nz()
		part = true
		if !p.accept(".") {
			break
		}
	}
	if binary {
		if !part {
			p.fail("binary section without a part")
		}
		if p.b[p.i-1] == '.' {
			p.fail("binary section ends with a dot")
		}
		p.expect("]")
		return
	}
	if !part || p.b[p.i-1] == '.' {
		switch {
		case p.accept("HEADER.FIELDS.NOT "), p.accept("HEADER.FIELDS "):
			p.expect("(")
			for n := 0; n == 0 || p.peek() != ')'; n++ {
				if n > 0 {
					p.sp()
				}
				p.astring()
			}
			p.i++
		case p.accept("HEADER"), p.accept("TEXT"):
		case part && p.accept("MIME"):
		default:
			p.fail("bad section")
		}
	}
	p.expect("]")
}

// envelope reads RFC 3501's envelope.
func (p *parser) envelope() {
	p.expect("(")
	p.nstring() // date
	p.sp()
	p.nstring()              // subject
	for i := 0; i < 6; i++ { // from, sender, reply-to, to, cc, bcc
		p.sp()
		if p.accept("NIL") {
			continue
		}
		p.expect("(")
		for n := 0; p.peek() != ')'; n++ {
			p.expect("(")
			for j := 0; j < 4; j++ {
				if j > 0 {
					p.sp()
				}
				p.nstring()
			}
			p.expect(")")
		}
		if p.b[p.i-1] == '(' {
			p.fail("empty address list")
		}
		p.i++
	}
	p.sp()
	p.nstring() // in-reply-to
	p.sp()
	p.nstring() // message-id
	p.expect(")")
}
