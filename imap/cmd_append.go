package imap

import (
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS'
// APPENDUID (RFC 4315), BINARY literals (RFC 3516), UTF8 (RFC 6855),
// APPENDLIMIT (RFC 7889) and quota checks before the literal is sent.
func (c *conn) cmdAppend(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	var mb store.Mailbox
	own := false
	defer func() {
		if mb != nil && !own {
			mb.Close()
		}
	}()
	var appended []uint32
	var uidValidity uint32
	fail := func(err error) error {
		if len(appended) > 0 {
			// MULTIAPPEND is all or nothing (RFC 3502 6.3.11).
			set := store.UIDSetOf(appended...)
			if _, _, e := mb.SetFlags(c.ctx(), set, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); e == nil {
				mb.Expunge(c.ctx(), set)
			}
		}
		return err
	}
	for {
		opts, h, err := c.appendMessageHead()
		if err != nil {
			return fail(err)
		}
		if mb == nil {
			if mb, own, err = c.appendTarget(name); err != nil {
				return c.refuseLiteral(h, err)
			}
		}
		if h.size > c.srv.appendLimit() {
			return fail(c.refuseLiteral(h, no("TOOBIG", "Message too large.")))
		}
		if q, err := c.st.Quota(c.ctx()); err == nil && q.Exceeds(h.size) {
			return fail(c.refuseLiteral(h, no("OVERQUOTA", "Quota exceeded (mailbox for user is full).")))
		}
		if err := c.r.acceptLiteral(h.literalHeader, c.srv.appendLimit()); err != nil {
			return fail(err)
		}
		lr := &io.LimitedReader{R: c.r.br, N: h.size}
		res, aerr := mb.Append(c.ctx(), lr, opts)
		if lr.N > 0 {
			if _, err := io.Copy(io.Discard, lr); err != nil {
				return err
			}
		}
		if lr.N > 0 {
			return io.ErrUnexpectedEOF
		}
		if aerr != nil {
			// The literal was consumed; the rest of the line is skipped.
			return fail(aerr)
		}
		if h.utf8 {
			if err := c.r.expect(')', "')'"); err != nil {
				return fail(err)
			}
		}
		appended = append(appended, res.UID)
		uidValidity = res.UIDValidity
		if own {
			if c.sel.view.add(res.UID) {
				c.w.str("* ")
				c.w.num(c.sel.view.count())
				c.w.str(" EXISTS\r\n")
			}
		}
		sp, err := c.r.maybe(' ')
		if err != nil {
			return err
		}
		if !sp {
			break
		}
		if len(appended) >= 10000 {
			return fail(badf("Too many messages in one APPEND."))
		}
	}
	if err := c.r.crlf(); err != nil {
		return fail(err)
	}
	c.okCode = "APPENDUID " + itoa(uidValidity) + " " + store.UIDSetOf(appended...).String()
	c.okText = "Append completed."
	return nil
}

// appendHead is a literal announcement with APPEND's extras.
type appendHead struct {
	literalHeader
	utf8 bool // inside "UTF8 (" ... ")"
}

// appendMessageHead parses "[flags SP] [date-time SP] literal-head" of one
// message.
func (c *conn) appendMessageHead() (store.AppendOptions, appendHead, error) {
	var opts store.AppendOptions
	var h appendHead
	b, err := c.r.peek()
	if err != nil {
		return opts, h, err
	}
	if b == '(' {
		names, err := c.r.flagList(false)
		if err != nil {
			return opts, h, err
		}
		if opts.Flags, err = parseFlags(names); err != nil {
			return opts, h, err
		}
		if err := c.r.sp(); err != nil {
			return opts, h, err
		}
		if b, err = c.r.peek(); err != nil {
			return opts, h, err
		}
	}
	if b == '"' {
		s, err := c.r.quoted()
		if err != nil {
			return opts, h, err
		}
		t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", s)
		if err != nil {
			return opts, h, badf("Invalid date-time.")
		}
		opts.InternalDate = t
		if err := c.r.sp(); err != nil {
			return opts, h, err
		}
		if b, err = c.r.peek(); err != nil {
			return opts, h, err
		}
	}
	if b == 'U' || b == 'u' {
		a, err := c.r.atom()
		if err != nil || !strings.EqualFold(a, "UTF8") {
			return opts, h, badf("Expected literal.")
		}
		if err := c.r.sp(); err != nil {
			return opts, h, err
		}
		if err := c.r.expect('(', "'('"); err != nil {
			return opts, h, err
		}
		h.utf8 = true
	}
	h.literalHeader, err = c.r.literalHead()
	return opts, h, err
}

// refuseLiteral answers an APPEND whose literal is refused before it is
// sent: a synchronizing literal is simply not asked for; a
// non-synchronizing one is discarded (or the connection given up).
func (c *conn) refuseLiteral(h appendHead, err error) error {
	if h.nonSync {
		if e := c.r.discard(h.size); e != nil {
			return e
		}
		return err
	}
	c.r.done = true // the client sends nothing more of this command
	return err
}

// appendTarget returns the handle to append through: the selected
// mailbox's own (so the session learns the new UIDs at once) or a fresh
// one closed after the command.
func (c *conn) appendTarget(name string) (mb store.Mailbox, own bool, err error) {
	if c.sel != nil && !c.sel.readOnly && c.sel.name == name {
		return c.sel.mb, true, nil
	}
	mb, err = c.st.OpenMailbox(c.ctx(), name, store.OpenOptions{})
	if err != nil {
		return nil, false, err
	}
	return mb, false, nil
}
