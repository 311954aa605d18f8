package imap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/store"
)

// message is one message opened for FETCH or SEARCH: the store's reader
// and, parsed on first need and cached server-wide, its MIME structure.
type message struct {
	c      *conn
	info   *store.MessageInfo
	r      store.MessageReader
	parsed *imapmsg.Message
}

func (c *conn) openMessage(m *store.MessageInfo) (*message, error) {
	r, err := c.sel.mb.Open(c.ctx(), m.UID)
	if err != nil {
		return nil, err
	}
	return &message{c: c, info: m, r: r}, nil
}

func (msg *message) close() { msg.r.Close() }

// structure returns the parsed message from the server's cache, parsing
// it on a miss.
func (msg *message) structure() (*imapmsg.Message, error) {
	if msg.parsed != nil {
		return msg.parsed, nil
	}
	c := msg.c
	p, err := c.srv.cache().Load(c.messageKey(msg.info.UID), msg.r, msg.r.Size(), c.srv.MessageLimits)
	if err != nil {
		return nil, err
	}
	msg.parsed = p
	return p, nil
}

// messageKey is a message's key in the server's parse cache.
func (c *conn) messageKey(uid uint32) string {
	return c.user + "\x00" + c.sel.name + "\x00" + itoa(c.sel.uidValidity) + "\x00" + itoa(uid)
}

// errShortMessage means a message yielded fewer bytes than its announced
// literal size; the connection cannot continue.
var errShortMessage = errors.New("imap: message shorter than announced")

// literalFrom writes "{n}\r\n" and exactly n bytes of rd, or, when
// binary, "~{n}\r\n" (a literal8, RFC 3516). A literal must not hold
// NUL (RFC 9051 4.3): message content with NUL bytes goes out with 0x80
// in their place, as Dovecot sends it (BINARY keeps them).
func (c *conn) literalFrom(rd io.Reader, n int64, binary bool) error {
	if binary {
		c.w.byte('~')
	} else {
		rd = nulReplacer{rd}
	}
	c.w.byte('{')
	c.w.num64(uint64(n))
	c.w.str("}\r\n")
	if c.w.err != nil {
		return c.w.err
	}
	c.countLiteral(n)
	copied, err := io.CopyN(c.w, rd, n)
	if c.w.err != nil {
		return c.w.err
	}
	if copied < n {
		c.log.Error("imap: message changed while being fetched", "err", err)
		return errShortMessage
	}
	return nil
}

// nulReplacer replaces NUL bytes with 0x80 in what it reads.
type nulReplacer struct{ r io.Reader }

func (n nulReplacer) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	for b := p[:k]; ; {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			break
		}
		b[i] = 0x80
		b = b[i+1:]
	}
	return k, err
}

// writeItem writes one content item of a FETCH response.
func (msg *message) writeItem(c *conn, it *fetchItem, m *store.MessageInfo) error {
	switch it.name {
	case "RFC822", "RFC822.HEADER", "RFC822.TEXT", "BINARY":
		c.noteFetchSection(it)
	case "BODY":
		if it.section != nil {
			c.noteFetchSection(it)
		}
	}
	defer func() { c.lo.counts.literal = false }()
	switch it.name {
	case "RFC822":
		c.w.str("RFC822 ")
		return msg.writeWhole()
	case "RFC822.HEADER", "RFC822.TEXT":
		spec := imapmsg.SectionSpec{Specifier: imapmsg.SpecHeader}
		if it.name == "RFC822.TEXT" {
			spec.Specifier = imapmsg.SpecText
		}
		c.w.str(it.name + " ")
		return msg.writeSection(spec, nil)
	case "BODYSTRUCTURE":
		p, err := msg.structure()
		if err != nil {
			return err
		}
		c.w.str("BODYSTRUCTURE ")
		return p.WriteBodyStructure(c.w, true)
	case "BODY":
		if it.section == nil {
			p, err := msg.structure()
			if err != nil {
				return err
			}
			c.w.str("BODY ")
			return p.WriteBodyStructure(c.w, false)
		}
		c.w.str(it.responseName() + " ")
		if len(it.section.part) == 0 && it.section.spec == "" && !it.partial {
			return msg.writeWhole()
		}
		return msg.writeSection(it.section.imapmsg(), it.imapPartial())
	case "BINARY":
		p, err := msg.structure()
		if err != nil {
			return err
		}
		rd, n, hasNUL, err := p.Binary(msg.r, it.section.part, it.imapPartial())
		c.w.str(it.responseName() + " ")
		switch {
		case errors.Is(err, imapmsg.ErrNoSuchPart):
			c.w.str("NIL")
			return nil
		case errors.Is(err, imapmsg.ErrUnknownCTE):
			return no("UNKNOWN-CTE", "Can't decode the part's content transfer encoding.")
		case err != nil:
			return err
		}
		if !hasNUL {
			// Dovecot sends literal8 for any 8-bit content, not only
			// for NUL; a large part is sent as literal8 unscanned.
			eight := n > 1<<20
			if !eight {
				if scan, _, _, err := p.Binary(msg.r, it.section.part, it.imapPartial()); err == nil {
					eight = has8bit(scan)
				}
			}
			hasNUL = eight
		}
		return c.literalFrom(rd, n, hasNUL)
	case "PREVIEW":
		p, err := msg.structure()
		if err != nil {
			return err
		}
		text, err := p.Preview(msg.r)
		if err != nil {
			return err
		}
		c.w.str("PREVIEW ")
		c.w.quoted(text)
		return nil
	case "BINARY.SIZE":
		p, err := msg.structure()
		if err != nil {
			return err
		}
		n, err := p.BinarySize(msg.r, it.section.part)
		c.w.str(it.responseName() + " ")
		switch {
		case errors.Is(err, imapmsg.ErrNoSuchPart):
			c.w.str("NIL")
			return nil
		case errors.Is(err, imapmsg.ErrUnknownCTE):
			return no("UNKNOWN-CTE", "Can't decode the part's content transfer encoding.")
		case err != nil:
			return err
		}
		c.w.num64(uint64(n))
		return nil
	}
	return badf("Unknown FETCH item.")
}

// writeWhole streams the whole message in its CRLF form, without parsing
// it; its length is the store's RFC822.SIZE.
func (msg *message) writeWhole() error {
	rd := store.NewCRLFReader(io.NewSectionReader(msg.r, 0, msg.r.Size()))
	return msg.c.literalFrom(rd, msg.info.Size, false)
}

func (msg *message) writeSection(spec imapmsg.SectionSpec, partial *imapmsg.Partial) error {
	p, err := msg.structure()
	if err != nil {
		return err
	}
	rd, n, err := p.Section(msg.r, spec, partial)
	if errors.Is(err, imapmsg.ErrNoSuchPart) {
		msg.c.w.str("NIL")
		return nil
	}
	if err != nil {
		return err
	}
	return msg.c.literalFrom(rd, n, false)
}

func (s *sectionSpec) imapmsg() imapmsg.SectionSpec {
	return imapmsg.SectionSpec{Part: s.part, Specifier: imapmsg.Specifier(s.spec), Fields: s.fields}
}

func (it *fetchItem) imapPartial() *imapmsg.Partial {
	if !it.partial {
		return nil
	}
	p := &imapmsg.Partial{Offset: int64(it.offset), Count: int64(it.count)}
	if it.count == ^uint32(0) {
		p.Count = -1
	}
	return p
}

// matchContent evaluates a SEARCH key that looks at the message content.
func (msg *message) matchContent(k *searchKey) (bool, error) {
	p, err := msg.structure()
	if err != nil {
		return false, err
	}
	switch k.op {
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		return p.MatchHeader(k.op, k.str), nil
	case "HEADER":
		return p.MatchHeader(k.str, k.str2), nil
	case "BODY":
		return p.MatchBody(msg.r, k.str)
	case "TEXT":
		return p.MatchText(msg.r, k.str)
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		d, ok := p.SentDate()
		if !ok {
			// No (valid) Date: header: Dovecot takes the sent date as
			// 0, before every date (TestDovecotDifferential).
			d = time.Unix(0, 0).UTC()
		}
		cmp := sameDay(d, k.date)
		return (k.op == "SENTBEFORE" && cmp < 0) || (k.op == "SENTON" && cmp == 0) || (k.op == "SENTSINCE" && cmp >= 0), nil
	}
	return false, badf("Unknown search key " + strings.ToUpper(k.op) + ".")
}

// has8bit reports whether r yields a byte outside 7-bit ASCII or a NUL.
func has8bit(r io.Reader) bool {
	buf := make([]byte, 8192)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b == 0 || b >= 0x80 {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}
