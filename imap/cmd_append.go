package imap

import (
	"context"
	"errors"
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
	// appended holds the UIDs stored so far; unless the whole command
	// succeeds they are removed again: MULTIAPPEND is all or nothing
	// (RFC 3502 3), whatever ends it early (a refused or short literal,
	// a syntax error, a store error, a dropped connection).
	var appended []uint32
	committed := false
	defer func() {
		if !committed && len(appended) > 0 {
			c.rollbackAppend(mb, own, appended)
		}
		if mb != nil && !own {
			mb.Close()
		}
	}()
	var uidValidity uint32
	for {
		opts, h, err := c.appendMessageHead()
		if err != nil {
			return err
		}
		if h.catenate {
			// The parts are read first, so a refused mailbox still
			// leaves the connection at the end of the command.
			f, err := c.readCatenate()
			if err != nil {
				return err
			}
			if mb == nil {
				if mb, own, err = c.appendTarget(name); err != nil {
					f.Close()
					return err
				}
			}
			res, aerr := c.appendOne(mb, own, name, f, opts)
			f.Close()
			if aerr != nil {
				return aerr
			}
			appended = append(appended, res.UID)
			uidValidity = res.UIDValidity
			sp, err := c.r.maybe(' ')
			if err != nil {
				return err
			}
			if !sp {
				break
			}
			continue
		}
		if mb == nil {
			if mb, own, err = c.appendTarget(name); err != nil {
				return c.refuseLiteral(h, err)
			}
		}
		if h.size > c.srv.appendLimit() {
			return c.refuseLiteral(h, no("TOOBIG", "Message too large."))
		}
		if c.quotaExceeded(h.size) {
			return c.refuseLiteral(h, no("OVERQUOTA", "Quota exceeded (mailbox for user is full)."))
		}
		if err := c.r.acceptLiteral(h.literalHeader, c.srv.appendLimit()); err != nil {
			return err
		}
		lr := &literalReader{r: c.r.br, n: h.size}
		res, aerr := c.appendOne(mb, own, name, lr, opts)
		if aerr == nil {
			appended = append(appended, res.UID)
		}
		if lr.n > 0 {
			// The store stopped early (or the client hung up, in which
			// case the store saw an error, not a short message).
			if _, err := io.Copy(io.Discard, lr); err != nil {
				return err
			}
		}
		if aerr != nil {
			// The literal was consumed; the rest of the line is skipped.
			return aerr
		}
		uidValidity = res.UIDValidity
		if h.utf8 {
			if err := c.r.expect(')', "')'"); err != nil {
				return err
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
			return badf("Too many messages in one APPEND.")
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	committed = true
	if own {
		// The session learns the new messages only now, so a failed
		// MULTIAPPEND never showed them.
		c.learnOwnMessages(appended)
	}
	if c.mayRead(name) {
		c.okCode = "APPENDUID " + itoa(uidValidity) + " " + store.UIDSetOf(appended...).String()
	}
	c.okText = "Append completed."
	c.checkQuotaAlert()
	return nil
}

// literalReader reads an APPEND literal of n bytes; input that ends
// before them is an error (io.ErrUnexpectedEOF), never a shorter
// message, so a store never keeps a message cut off by a hang-up.
type literalReader struct {
	r io.Reader
	n int64
}

func (l *literalReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err == io.EOF && l.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// quotaExceeded reports whether a message of size bytes would go over
// the user's quota, so the literal can be refused before it is sent.
// The store enforces the quota again when it stores the message; a
// store without limits is asked only once per session (working out the
// usage may mean reading every folder).
func (c *conn) quotaExceeded(size int64) bool {
	if c.noQuota || !c.quotaLimited() {
		return false
	}
	q, err := c.st.Quota(c.ctx())
	if err != nil {
		return false
	}
	if q.StorageLimit <= 0 && q.MessagesLimit <= 0 {
		c.noQuota = true
		return false
	}
	return q.Exceeds(size)
}

// quotaLimiter is implemented by stores that can tell cheaply whether
// they have quota limits at all (maildir.Store.QuotaLimited), where
// Quota itself scans every folder for the usage.
type quotaLimiter interface {
	QuotaLimited() bool
}

// quotaLimited reports whether the store may have quota limits; false
// (and noQuota set) when it says it has none.
func (c *conn) quotaLimited() bool {
	if l, ok := c.st.(quotaLimiter); ok && !l.QuotaLimited() {
		c.noQuota = true
		return false
	}
	return true
}

// rollbackAppend removes the messages a failed (MULTI)APPEND stored.
// Through the selected mailbox's own handle the session's view never
// held them, so there is nothing to report.
func (c *conn) rollbackAppend(mb store.Mailbox, own bool, uids []uint32) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, ok := c.st.(mailboxDeliverer); ok && !own {
		// The messages went in through Deliver past a read-only handle.
		w, err := c.st.OpenMailbox(ctx, mb.Name(), store.OpenOptions{})
		if err != nil {
			c.log.Error("imap: undoing a failed MULTIAPPEND", "mailbox", mb.Name(), "err", err)
			return
		}
		defer w.Close()
		mb = w
	}
	set := store.UIDSetOf(uids...)
	_, _, err := mb.SetFlags(ctx, set, store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if err == nil {
		var gone []uint32
		gone, err = mb.Expunge(ctx, set)
		if err == nil && len(gone) != len(uids) {
			err = errors.New("not every message was expunged")
		}
	}
	if err != nil {
		c.log.Error("imap: undoing a failed MULTIAPPEND", "mailbox", mb.Name(), "uids", set.String(), "err", err)
	}
}

// appendHead is a literal announcement with APPEND's extras.
type appendHead struct {
	literalHeader
	utf8     bool // inside "UTF8 (" ... ")"
	catenate bool // CATENATE (RFC 4469): parts follow, not a literal
}

// maxInternalDateFuture is how far ahead of now an APPEND's date-time
// may be (Dovecot 2.3's INTERNALDATE_MAX_FUTURE_SECS); a later one is
// replaced by the time of the append.
const maxInternalDateFuture = 2 * time.Hour

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
		// A date more than two hours ahead becomes the time of the
		// append, as Dovecot does (INTERNALDATE_MAX_FUTURE_SECS): a
		// message dated in the future would sort as the newest forever.
		if t.After(time.Now().Add(maxInternalDateFuture)) {
			t = time.Time{}
		}
		opts.InternalDate = t
		if err := c.r.sp(); err != nil {
			return opts, h, err
		}
		if b, err = c.r.peek(); err != nil {
			return opts, h, err
		}
	}
	if b == 'C' || b == 'c' {
		a, err := c.r.atom()
		if err != nil || !strings.EqualFold(a, "CATENATE") {
			return opts, h, badf("Expected literal.")
		}
		if err := c.r.sp(); err != nil {
			return opts, h, err
		}
		h.catenate = true
		return opts, h, nil
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
	if _, err := c.insertRights(name); err != nil {
		return nil, false, err
	}
	if c.sel != nil && !c.sel.readOnly && c.sel.name == name {
		return c.sel.mb, true, nil
	}
	// A handle opened for writing would claim the mailbox's \Recent
	// messages for a session that never sees them; with a store that
	// can deliver by name, the handle only checks the mailbox exists.
	_, deliver := c.st.(mailboxDeliverer)
	mb, err = c.st.OpenMailbox(c.ctx(), name, store.OpenOptions{ReadOnly: deliver})
	if err != nil {
		return nil, false, err
	}
	return mb, false, nil
}

// mailboxDeliverer is implemented by stores that append to a mailbox by
// name without a session handle (maildir.Store.Deliver). APPEND to a
// mailbox that is not selected uses it, so the new message stays
// \Recent for the session that selects the mailbox next (RFC 3501
// 2.3.2, Dovecot's behaviour).
type mailboxDeliverer interface {
	Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error)
}

// appendOne stores one message of an APPEND.
func (c *conn) appendOne(mb store.Mailbox, own bool, name string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	rights, err := c.insertRights(name)
	if err != nil {
		return store.AppendResult{}, err
	}
	opts.Flags = rights.filterFlags(opts.Flags)
	if d, ok := c.st.(mailboxDeliverer); ok && !own {
		return d.Deliver(c.ctx(), mb.Name(), r, opts)
	}
	return mb.Append(c.ctx(), r, opts)
}
