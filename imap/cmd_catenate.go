package imap

import (
	"errors"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/store"
)

// maxCatenateParts bounds the parts of one CATENATE.
const maxCatenateParts = 1000

// readCatenate reads the part list of APPEND's CATENATE (RFC 4469),
// after "CATENATE" SP, and returns the message it makes in a temporary
// file (removed by the caller), bounded by the APPENDLIMIT. TEXT parts
// are literals; URL parts are IMAP URLs (RFC 5092) of the user's own
// messages or sections of them. A URL that cannot be resolved answers
// NO [BADURL url] once the command line is read.
func (c *conn) readCatenate() (*os.File, error) {
	f, err := os.CreateTemp("", "yubin-catenate-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	limit := c.srv.appendLimit()
	var total int64
	var failed error
	n := 0
	err = c.r.list(func() error {
		for {
			n++
			if n > maxCatenateParts {
				return badf("Too many CATENATE parts.")
			}
			a, err := c.r.atom()
			if err == nil {
				err = c.r.sp()
			}
			if err != nil {
				return err
			}
			switch strings.ToUpper(a) {
			case "TEXT":
				h, err := c.r.literalHead()
				if err != nil {
					return err
				}
				if h.size > limit-total {
					if h.nonSync {
						c.r.discard(h.size)
					} else {
						c.r.done = true
					}
					return no("TOOBIG", "Message too large.")
				}
				if err := c.r.acceptLiteral(h, limit); err != nil {
					return err
				}
				k, err := io.Copy(f, &literalReader{r: c.r.br, n: h.size})
				total += k
				if err != nil {
					return err
				}
			case "URL":
				u, err := c.r.astring()
				if err != nil {
					return err
				}
				if failed == nil {
					k, err := c.copyURL(f, u, limit-total)
					total += k
					if err != nil {
						failed = err
					}
				}
			default:
				return badf("Unknown CATENATE part.")
			}
			b, err := c.r.peek()
			if err != nil || b != ' ' {
				return err
			}
			c.r.readByte()
		}
	})
	if err == nil && n == 0 {
		err = badf("Empty CATENATE list.")
	}
	if err == nil {
		err = failed
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// imapURL is the part of an IMAP URL (RFC 5092) CATENATE uses.
type imapURL struct {
	mailbox     string
	uidValidity uint32
	uid         uint32
	section     string
	partial     *imapmsg.Partial
}

// parseIMAPURL parses an absolute ("imap://user@host/...") or
// absolute-path ("/INBOX;UIDVALIDITY=1/;UID=2/;SECTION=1/;PARTIAL=0.10")
// IMAP URL that names one message. An absolute URL must be the session
// user's; URLAUTH URLs are not taken.
func (c *conn) parseIMAPURL(s string) (*imapURL, bool) {
	if len(s) >= 7 && strings.EqualFold(s[:7], "imap://") {
		user, path, ok := splitAbsoluteURL(s)
		if !ok || user != c.user {
			return nil, false
		}
		s = path
	}
	if strings.HasPrefix(s, ";") && c.sel != nil {
		// Relative to the selected mailbox (";UID=2"), as Dovecot takes.
		s = "/" + url.PathEscape(EncodeMailboxName(c.sel.name)) + "/" + s
	}
	if strings.Contains(strings.ToUpper(s), ";URLAUTH=") {
		return nil, false
	}
	return c.parseURLPath(s)
}

// splitAbsoluteURL splits "imap://user;AUTH=x@host:port/path" into the
// user and the path ("/path").
func splitAbsoluteURL(s string) (user, path string, ok bool) {
	if len(s) < 7 || !strings.EqualFold(s[:7], "imap://") {
		return "", "", false
	}
	s = s[7:]
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return "", "", false
	}
	auth := s[:slash]
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return "", "", false
	}
	user, err := url.PathUnescape(strings.SplitN(auth[:at], ";", 2)[0])
	if err != nil || user == "" {
		return "", "", false
	}
	return user, s[slash:], true
}

// parseURLPath parses the path of an IMAP URL that names one message
// ("/INBOX;UIDVALIDITY=1/;UID=2/;SECTION=1/;PARTIAL=0.10").
func (c *conn) parseURLPath(s string) (*imapURL, bool) {
	if !strings.HasPrefix(s, "/") {
		return nil, false
	}
	segs := strings.Split(s[1:], "/")
	if len(segs) < 2 || len(segs) > 4 {
		return nil, false
	}
	u := &imapURL{}
	box, params, _ := strings.Cut(segs[0], ";")
	name, err := url.PathUnescape(box)
	if err != nil || name == "" {
		return nil, false
	}
	if params != "" {
		v, ok := strings.CutPrefix(strings.ToUpper(params), "UIDVALIDITY=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || n == 0 {
			return nil, false
		}
		u.uidValidity = uint32(n)
	}
	v, ok := strings.CutPrefix(strings.ToUpper(segs[1]), ";UID=")
	n, err := strconv.ParseUint(v, 10, 32)
	if !ok || err != nil || n == 0 {
		return nil, false
	}
	u.uid = uint32(n)
	hasSection := false
	for _, seg := range segs[2:] {
		key, val, _ := strings.Cut(seg, "=")
		switch strings.ToUpper(key) {
		case ";SECTION":
			if hasSection || u.partial != nil {
				return nil, false
			}
			dec, err := url.PathUnescape(val)
			if err != nil {
				return nil, false
			}
			u.section, hasSection = dec, true
		case ";PARTIAL":
			if u.partial != nil {
				return nil, false
			}
			off, cnt, _ := strings.Cut(val, ".")
			o, err1 := strconv.ParseInt(off, 10, 64)
			k := int64(-1)
			var err2 error
			if cnt != "" {
				k, err2 = strconv.ParseInt(cnt, 10, 64)
			}
			if err1 != nil || err2 != nil || o < 0 || (cnt != "" && k <= 0) {
				return nil, false
			}
			u.partial = &imapmsg.Partial{Offset: o, Count: k}
		default:
			return nil, false
		}
	}
	mbox, err := c.decodeName(name)
	if err != nil {
		return nil, false
	}
	u.mailbox = mbox
	return u, true
}

// copyURL writes the message or section a CATENATE URL names to w, at
// most limit bytes.
func (c *conn) copyURL(w io.Writer, raw string, limit int64) (int64, error) {
	bad := no("BADURL "+raw, "Bad IMAP URL.")
	u, ok := c.parseIMAPURL(raw)
	if !ok {
		return 0, bad
	}
	var mb store.Mailbox
	if c.sel != nil && c.sel.name == u.mailbox {
		mb = c.sel.mb
	} else {
		m, err := c.st.OpenMailbox(c.ctx(), u.mailbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			return 0, bad
		}
		defer m.Close()
		mb = m
	}
	return c.copyURLFrom(w, mb, u, bad, limit)
}

// copyURLFrom writes the message or section u names in mb to w, at most
// limit bytes; bad is the answer when u names nothing there.
func (c *conn) copyURLFrom(w io.Writer, mb store.Mailbox, u *imapURL, bad error, limit int64) (int64, error) {
	if u.uidValidity != 0 {
		st, err := mb.Status(c.ctx())
		if err != nil || st.UIDValidity != u.uidValidity {
			return 0, bad
		}
	}
	r, err := mb.Open(c.ctx(), u.uid)
	if err != nil {
		return 0, bad
	}
	defer r.Close()
	var src io.Reader
	var size int64
	if u.section == "" && u.partial == nil {
		size = -1
		src = store.NewCRLFReader(io.NewSectionReader(r, 0, r.Size()))
	} else {
		spec, err := imapmsg.ParseSectionSpec(u.section)
		if err != nil {
			return 0, bad
		}
		p, err := imapmsg.Parse(r, r.Size(), c.srv.MessageLimits)
		if err != nil {
			return 0, err
		}
		src, size, err = p.Section(r, spec, u.partial)
		if errors.Is(err, imapmsg.ErrNoSuchPart) {
			return 0, bad
		}
		if err != nil {
			return 0, err
		}
	}
	if size > limit {
		return 0, no("TOOBIG", "Message too large.")
	}
	n, err := io.Copy(w, io.LimitReader(src, limit+1))
	if n > limit {
		return n, no("TOOBIG", "Message too large.")
	}
	return n, err
}
