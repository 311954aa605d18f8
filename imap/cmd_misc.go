package imap

import (
	"strings"
)

// CAPABILITY (RFC 9051 6.1.1).
func (c *conn) cmdCapability(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str("* CAPABILITY " + strings.Join(c.capabilities(), " ") + "\r\n")
	return nil
}

// NOOP and CHECK (RFC 9051 6.1.2, RFC 3501 6.4.1): nothing but the
// pending updates, which dispatch sends.
func (c *conn) cmdNoop(tag string, _ bool) error { return c.r.crlf() }

// LOGOUT (RFC 9051 6.1.3).
func (c *conn) cmdLogout(tag string, _ bool) error {
	c.lo.inEnd = c.bytesIn() // Dovecot counts LOGOUT without its line end
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str("* BYE Logging out\r\n")
	c.state = stateLogout
	c.okText = "Logout completed."
	return nil
}

// ID (RFC 2971): the client's list is read and ignored.
func (c *conn) cmdID(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	b, err := c.r.peek()
	if err != nil {
		return err
	}
	if b == '(' {
		n := 0
		err = c.r.list(func() error {
			n++
			if n > 60 {
				return badf("Too many ID fields")
			}
			_, _, err := c.r.nstring()
			if err == nil && n%2 == 1 {
				err = c.r.sp()
				if err == nil {
					_, _, err = c.r.nstring()
				}
			}
			return err
		})
	} else {
		_, _, err = c.r.nstring()
	}
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str(`* ID ("name" "yubin" "vendor" "yubinmail")` + "\r\n")
	return nil
}

// ENABLE (RFC 5161, RFC 9051 6.3.1): IMAP4rev2, CONDSTORE, QRESYNC and
// UTF8=ACCEPT; unknown capabilities are ignored.
func (c *conn) cmdEnable(tag string, _ bool) error {
	var enabled []string
	for {
		ok, err := c.r.atEOL()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if err := c.r.sp(); err != nil {
			return err
		}
		a, err := c.r.atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2 = true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "CONDSTORE":
			// Listed once per session even when a mod-sequence
			// command already turned it on, as Dovecot lists it.
			if !c.condstoreEnabled {
				c.condstoreEnabled = true
				// In the selected state this reports HIGHESTMODSEQ
				// first, as Dovecot does (RFC 7162 3.1).
				c.enableCondstore()
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			if !c.qresync {
				c.enableCondstore()
				c.qresync = true
				enabled = append(enabled, "QRESYNC")
			}
		case "UTF8=ACCEPT":
			if !c.w.utf8 {
				c.w.utf8 = true
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str("* ENABLED")
	for _, e := range enabled {
		c.w.str(" " + e)
	}
	c.w.crlf()
	return nil
}

// NAMESPACE (RFC 2342, RFC 9051 6.3.10): one personal namespace with "/"
// as the hierarchy separator, and Server.Shared's as the other users'.
func (c *conn) cmdNamespace(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str(`* NAMESPACE (("" "/")) `)
	if c.srv.Shared != nil {
		c.w.str("((")
		c.w.quoted(c.srv.Shared.prefix())
		c.w.str(` "/"))`)
	} else {
		c.w.str("NIL")
	}
	c.w.str(" NIL\r\n")
	return nil
}
