package imap

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// URLAUTH (RFC 4467): GENURLAUTH signs URLs of the user's own messages
// with the mailbox's access key (the INTERNAL mechanism), RESETKEY
// forgets keys, URLFETCH returns what signed URLs name, the other
// users' messages included when the URL's access identifier lets the
// session's user have them. Dovecot serves URLFETCH from a separate
// imap-urlauth service; here the IMAP server fetches itself.

// maxURLAuthArgs bounds the URLs of one GENURLAUTH or URLFETCH.
const maxURLAuthArgs = 100

// GENURLAUTH url mechanism *(SP url SP mechanism) (RFC 4467 6.1).
func (c *conn) cmdGenURLAuth(tag string, _ bool) error {
	if c.srv.URLAuth == nil {
		return badf("Unknown command.")
	}
	type pair struct{ url, mech string }
	var pairs []pair
	for {
		if err := c.r.sp(); err != nil {
			return err
		}
		u, err := c.r.astring()
		if err == nil {
			err = c.r.sp()
		}
		if err != nil {
			return err
		}
		m, err := c.r.atom()
		if err != nil {
			return err
		}
		if len(pairs) >= maxURLAuthArgs {
			return badf("Too many URLs.")
		}
		pairs = append(pairs, pair{u, m})
		if eol, err := c.r.atEOL(); err != nil {
			return err
		} else if eol {
			break
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	var out []string
	for _, p := range pairs {
		bad := no("BADURL "+p.url, "Invalid URLAUTH URL.")
		if !strings.EqualFold(p.mech, "INTERNAL") {
			return no("BADURL "+p.url, "Unknown URLAUTH mechanism.")
		}
		ua, ok := parseURLAuth(p.url, false)
		if !ok || ua.owner != c.user || ua.access == "anonymous" {
			return bad
		}
		u, ok := c.parseURLPath(ua.path)
		if !ok {
			return bad
		}
		if _, err := c.st.Status(c.ctx(), u.mailbox); err != nil {
			return bad
		}
		key, err := c.srv.URLAuth.MailboxKey(c.ctx(), c.user, u.mailbox, true)
		if err != nil {
			return err
		}
		out = append(out, ua.rump+":INTERNAL:"+urlAuthToken(key, ua.rump))
	}
	c.w.str("* GENURLAUTH")
	for _, u := range out {
		c.w.byte(' ')
		c.w.quoted(u)
	}
	c.w.crlf()
	return c.w.err
}

// RESETKEY [mailbox *(SP mechanism)] (RFC 4467 6.2).
func (c *conn) cmdResetKey(tag string, _ bool) error {
	if c.srv.URLAuth == nil {
		return badf("Unknown command.")
	}
	name := ""
	if eol, err := c.r.atEOL(); err != nil {
		return err
	} else if !eol {
		if err := c.r.sp(); err != nil {
			return err
		}
		if name, err = c.mailboxArg(); err != nil {
			return err
		}
		for {
			if eol, err := c.r.atEOL(); err != nil {
				return err
			} else if eol {
				break
			}
			if err := c.r.sp(); err != nil {
				return err
			}
			m, err := c.r.atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(m, "INTERNAL") {
				return badf("Unknown URLAUTH mechanism.")
			}
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if name != "" {
		if _, err := c.st.Status(c.ctx(), name); err != nil {
			return no("NONEXISTENT", "Mailbox doesn't exist: "+name)
		}
	}
	return c.srv.URLAuth.ResetKeys(c.ctx(), c.user, name)
}

// URLFETCH url *(SP url) (RFC 4467 6.3): each URL's data, or NIL when it
// is not a valid URLAUTH URL the user may fetch.
func (c *conn) cmdURLFetch(tag string, _ bool) error {
	if c.srv.URLAuth == nil {
		return badf("Unknown command.")
	}
	var urls []string
	for {
		if err := c.r.sp(); err != nil {
			return err
		}
		u, err := c.r.astring()
		if err != nil {
			return err
		}
		if len(urls) >= maxURLAuthArgs {
			return badf("Too many URLs.")
		}
		urls = append(urls, u)
		if eol, err := c.r.atEOL(); err != nil {
			return err
		} else if eol {
			break
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	for _, raw := range urls {
		f, size, err := c.urlFetch(raw)
		if err != nil {
			return err
		}
		c.w.str("* URLFETCH ")
		c.w.quoted(raw)
		if f == nil {
			c.w.str(" NIL\r\n")
			continue
		}
		c.w.str(" {" + itoa(uint32(size)) + "}\r\n")
		// NUL may not be in a literal: 0x80 goes instead, as
		// writer.literal sends it.
		_, err = io.Copy(nulFreeWriter{c.w}, f)
		f.Close()
		if err != nil {
			return err
		}
		c.w.crlf()
		if c.w.err != nil {
			return c.w.err
		}
	}
	return c.w.err
}

// urlFetch resolves one URLAUTH URL into a temporary file (removed on
// Close) of its data; nil when the URL is refused. Only a store failure
// is an error.
func (c *conn) urlFetch(raw string) (*os.File, int64, error) {
	ua, ok := parseURLAuth(raw, true)
	if !ok || !strings.EqualFold(ua.mechanism, "INTERNAL") || !c.srv.mayFetch(ua.access, c.user) {
		return nil, 0, nil
	}
	return c.resolveURLAuth(ua)
}

// resolveURLAuth is urlFetch for a URL whose access identifier allows
// the session's user: nil when it has expired, its token is not the
// one its mailbox's key signs, or what it names is not there.
func (c *conn) resolveURLAuth(ua *urlAuth) (*os.File, int64, error) {
	if !ua.expire.IsZero() && time.Now().After(ua.expire) {
		return nil, 0, nil
	}
	u, ok := c.parseURLPath(ua.path)
	if !ok {
		return nil, 0, nil
	}
	if c.srv.Shared != nil {
		// Another user's mailbox is named by its owner's URL, which
		// its owner signs; through the shared namespace a URL would
		// bypass the rights the owner gave.
		if _, _, shared, _ := c.srv.Shared.splitShared(u.mailbox); shared {
			return nil, 0, nil
		}
	}
	key, err := c.srv.URLAuth.MailboxKey(c.ctx(), ua.owner, u.mailbox, false)
	if err != nil || key == nil {
		return nil, 0, nil
	}
	want, _ := hex.DecodeString(urlAuthToken(key, ua.rump))
	got, _ := hex.DecodeString(ua.token)
	if !hmac.Equal(want, got) {
		return nil, 0, nil
	}
	st := c.st
	if ua.owner != c.user || st == nil {
		other, err := c.srv.Backend.Open(c.ctx(), ua.owner)
		if err != nil {
			return nil, 0, nil
		}
		defer other.Close()
		st = other
	}
	mb, err := st.OpenMailbox(c.ctx(), u.mailbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, nil
	}
	defer mb.Close()
	f, err := os.CreateTemp("", "yubin-urlfetch-*")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name())
	n, err := c.copyURLFrom(f, mb, u, no("", ""), c.srv.appendLimit())
	if err == nil && n > 1<<32-1 {
		err = no("", "")
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		if _, isIMAP := err.(*Error); isIMAP {
			return nil, 0, nil
		}
		return nil, 0, err
	}
	return f, n, nil
}

// nulFreeWriter writes through w with NUL bytes as 0x80.
type nulFreeWriter struct{ w io.Writer }

func (n nulFreeWriter) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, 0) < 0 {
		return n.w.Write(p)
	}
	q := bytes.ReplaceAll(p, []byte{0}, []byte{0x80})
	if _, err := n.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// dropURLAuthKeys forgets the keys of a mailbox DELETE or RENAME took
// away (and of those below it): its URLs must not name the next
// mailbox of that name.
func (c *conn) dropURLAuthKeys(name string) {
	if k := c.srv.URLAuth; k != nil {
		if err := k.ResetKeys(c.ctx(), c.user, name); err != nil {
			c.log.Warn("imap: dropping URLAUTH keys failed", "mailbox", name, "err", err)
		}
	}
}
