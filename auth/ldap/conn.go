package ldap

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	ldapc "github.com/go-ldap/ldap/v3"
)

// maxMessage bounds one LDAP message read from the directory.
const maxMessage = 4 << 20

// conn is one connection to the directory, used by one login at a time
// (the pool hands it out): each operation writes its request and reads
// its response on the caller's goroutine, with no reader goroutine and
// no channels between them, as Dovecot's (and libldap's) synchronous
// use of a connection. Results from the server come back as
// *ldapc.Error with the result code, so that ldapc.IsErrorWithCode
// works; anything else means the connection is unusable.
type conn struct {
	nc   net.Conn
	r    *bufio.Reader
	wbuf []byte // the request being written
	rbuf []byte // the message being read
	id   int    // the last message ID
	tls  bool
}

func newConn(nc net.Conn, isTLS bool) *conn {
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 4096), tls: isTLS}
}

// Close closes the connection.
func (c *conn) Close() error { return c.nc.Close() }

// request starts a message with the next ID; finish it with send.
func (c *conn) request() (b []byte, at int) {
	c.id++
	if c.id >= 1<<31-1 {
		c.id = 1
	}
	b, at = begin(c.wbuf[:0], tagSequence)
	return appendInt(b, tagInteger, c.id), at
}

// send finishes the message begun by request and writes it.
func (c *conn) send(b []byte, at int) error {
	b = end(b, at)
	c.wbuf = b
	_, err := c.nc.Write(b)
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil
	}
	return err
}

// read reads the next message answering the last request: its
// protocolOp's tag and content. The content stays valid until the next
// read.
func (c *conn) read() (byte, []byte, error) {
	for {
		tag, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		if tag != tagSequence {
			return 0, nil, errBER
		}
		l, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n := int(l)
		if l&0x80 != 0 {
			k := int(l & 0x7f)
			if k == 0 || k > 4 {
				return 0, nil, errBER
			}
			n = 0
			for range k {
				x, err := c.r.ReadByte()
				if err != nil {
					return 0, nil, err
				}
				n = n<<8 | int(x)
			}
		}
		if n > maxMessage {
			return 0, nil, fmt.Errorf("ldap: response of %d bytes is too large", n)
		}
		if cap(c.rbuf) < n {
			c.rbuf = make([]byte, n)
		}
		msg := c.rbuf[:n]
		if _, err := io.ReadFull(c.r, msg); err != nil {
			return 0, nil, err
		}
		idb, rest, err := expect(msg, tagInteger)
		if err != nil {
			return 0, nil, err
		}
		id, err := parseInt(idb)
		if err != nil {
			return 0, nil, err
		}
		op, content, _, err := next(rest) // controls, if any, are ignored
		if err != nil {
			return 0, nil, err
		}
		switch {
		case id == c.id:
			return op, content, nil
		case id == 0:
			// An unsolicited notification: the server is closing
			// the connection (RFC 4511 4.4.1).
			return 0, nil, errors.New("ldap: the server sent a notice of disconnection")
		}
		// An answer to an abandoned request: skip it.
	}
}

// result reads an LDAPResult's content: nil for success, else the
// server's result as *ldapc.Error.
func result(content []byte) error {
	codeb, rest, err := expect(content, tagEnum)
	if err != nil {
		return err
	}
	code, err := parseInt(codeb)
	if err != nil {
		return err
	}
	_, rest, err = expect(rest, tagOctets) // matchedDN
	if err != nil {
		return err
	}
	diag, _, err := expect(rest, tagOctets)
	if err != nil {
		return err
	}
	if code == ldapc.LDAPResultSuccess {
		return nil
	}
	return ldapc.NewError(uint16(code), errors.New(string(diag)))
}

// Bind binds with a simple bind as dn (RFC 4513 5.1). An empty password
// is refused here, as go-ldap does: the server would take it for an
// unauthenticated bind, and succeed.
func (c *conn) Bind(dn, password string) error {
	if password == "" {
		return ldapc.NewError(ldapc.ErrorEmptyPassword, errors.New("ldap: empty password not allowed by the client"))
	}
	b, at := c.request()
	b, op := begin(b, tagBindReq)
	b = appendInt(b, tagInteger, 3)
	b = appendString(b, tagOctets, dn)
	b = appendString(b, tagAuthSimple, password)
	b = end(b, op)
	err := c.send(b, at)
	clear(c.wbuf) // no password left in the buffer
	if err != nil {
		return err
	}
	return c.bindResult()
}

// ExternalBind binds with SASL EXTERNAL (RFC 4513 5.2.3): the identity
// the server takes from the connection.
func (c *conn) ExternalBind() error {
	b, at := c.request()
	b, op := begin(b, tagBindReq)
	b = appendInt(b, tagInteger, 3)
	b = appendString(b, tagOctets, "")
	b, sasl := begin(b, tagAuthSASL)
	b = appendString(b, tagOctets, "EXTERNAL")
	b = appendString(b, tagOctets, "") // an empty initial response: no authorization identity
	b = end(b, sasl)
	b = end(b, op)
	if err := c.send(b, at); err != nil {
		return err
	}
	return c.bindResult()
}

func (c *conn) bindResult() error {
	tag, content, err := c.read()
	if err != nil {
		return err
	}
	if tag != tagBindResp {
		return errBER
	}
	return result(content)
}

// startTLSOID names the StartTLS extended operation (RFC 4511 4.14).
const startTLSOID = "1.3.6.1.4.1.1466.20037"

// StartTLS asks for TLS and makes the handshake, by the connection's
// deadline.
func (c *conn) StartTLS(cfg *tls.Config) error {
	b, at := c.request()
	b, op := begin(b, tagExtReq)
	b = appendString(b, tagExtName, startTLSOID)
	b = end(b, op)
	if err := c.send(b, at); err != nil {
		return err
	}
	tag, content, err := c.read()
	if err != nil {
		return err
	}
	if tag != tagExtResp {
		return errBER
	}
	if err := result(content); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return errors.New("ldap: data after the StartTLS response")
	}
	tc := tls.Client(c.nc, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.nc, c.tls = tc, true
	c.r.Reset(tc)
	return nil
}

// searchReq is a search request; filter is the encoded filter.
type searchReq struct {
	base         string
	scope, deref int
	sizeLimit    int
	timeLimit    int
	filter       []byte
	attrs        []string
	// perEntry, when set, gives each entry that long to arrive, rather
	// than the whole search the pool's timeout (long listings).
	perEntry time.Duration
}

// Search runs req and returns the entries (with the attribute values
// as strings; ByteValues stay empty), at most max of them (the rest are read and dropped);
// with a result other than success (such as a size limit exceeded) it
// returns the entries and that result as *ldapc.Error.
func (c *conn) Search(req *searchReq, max int) ([]*ldapc.Entry, error) {
	b, at := c.request()
	b, op := begin(b, tagSearchReq)
	b = appendString(b, tagOctets, req.base)
	b = appendInt(b, tagEnum, req.scope)
	b = appendInt(b, tagEnum, req.deref)
	b = appendInt(b, tagInteger, req.sizeLimit)
	b = appendInt(b, tagInteger, req.timeLimit)
	b = appendBool(b, false)
	b = append(b, req.filter...)
	b, attrs := begin(b, tagSequence)
	for _, a := range req.attrs {
		b = appendString(b, tagOctets, a)
	}
	b = end(b, attrs)
	b = end(b, op)
	if err := c.send(b, at); err != nil {
		return nil, err
	}
	var out []*ldapc.Entry
	for {
		tag, content, err := c.read()
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagSearchEnt:
			if len(out) >= max {
				continue
			}
			e, err := parseEntry(content)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			if req.perEntry > 0 {
				c.nc.SetDeadline(time.Now().Add(req.perEntry))
			}
		case tagSearchRef:
			// Continuation references are not followed (nor were
			// they with go-ldap's Search).
		case tagSearchDone:
			return out, result(content)
		default:
			return nil, errBER
		}
	}
}

// parseEntry reads a SearchResultEntry's content.
func parseEntry(content []byte) (*ldapc.Entry, error) {
	dn, rest, err := expect(content, tagOctets)
	if err != nil {
		return nil, err
	}
	list, _, err := expect(rest, tagSequence)
	if err != nil {
		return nil, err
	}
	e := &ldapc.Entry{DN: string(dn)}
	for len(list) > 0 {
		var attr []byte
		if attr, list, err = expect(list, tagSequence); err != nil {
			return nil, err
		}
		name, rest, err := expect(attr, tagOctets)
		if err != nil {
			return nil, err
		}
		vals, _, err := expect(rest, tagSet)
		if err != nil {
			return nil, err
		}
		a := &ldapc.EntryAttribute{Name: string(name)}
		for len(vals) > 0 {
			var v []byte
			if v, vals, err = expect(vals, tagOctets); err != nil {
				return nil, err
			}
			a.Values = append(a.Values, string(v))
		}
		e.Attributes = append(e.Attributes, a)
	}
	return e, nil
}
