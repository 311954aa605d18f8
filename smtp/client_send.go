package smtp

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func encodeIR(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return encodeB64(b)
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// mailLine builds MAIL FROM with the parameters the server supports.
func (c *Client) mailLine(from string, o *MailOptions) (string, error) {
	if strings.ContainsAny(from, "\r\n<> ") && !strings.HasPrefix(from, `"`) {
		return "", errors.New("smtp: invalid sender address")
	}
	line := "MAIL FROM:<" + from + ">"
	if o == nil {
		o = &MailOptions{}
	}
	if o.Size > 0 && c.ext.Has(ExtSize) {
		line += " SIZE=" + strconv.FormatInt(o.Size, 10)
	}
	if o.Body != "" {
		if o.Body == "8BITMIME" && !c.ext.Has(Ext8BitMIME) || o.Body == "BINARYMIME" && !c.ext.Has(ExtBinaryMIME|ExtChunking) {
			return "", &Error{Code: 554, Enhanced: Enhanced{5, 6, 3}, Message: "server does not support BODY=" + o.Body}
		}
		line += " BODY=" + o.Body
	}
	if o.UTF8 || !smtpwire.IsASCII(from) {
		if !c.ext.Has(ExtSMTPUTF8) {
			return "", &Error{Code: 553, Enhanced: Enhanced{5, 6, 7}, Message: "server does not support SMTPUTF8"}
		}
		line += " SMTPUTF8"
	}
	if c.ext.Has(ExtDSN) {
		if o.Ret != "" {
			line += " RET=" + o.Ret
		}
		if o.EnvID != "" {
			line += " ENVID=" + o.EnvID
		}
	}
	if o.Auth != "" && c.ext.Has(ExtAuth) {
		line += " AUTH=" + o.Auth
	}
	return line, nil
}

func (c *Client) rcptLine(r Recipient) (string, error) {
	if strings.ContainsAny(r.Addr, "\r\n<>") || r.Addr == "" {
		return "", errors.New("smtp: invalid recipient address")
	}
	line := "RCPT TO:<" + r.Addr + ">"
	if c.ext.Has(ExtDSN) {
		if r.Opts.Notify != "" {
			line += " NOTIFY=" + r.Opts.Notify
		}
		if r.Opts.ORcpt != "" {
			line += " ORCPT=" + r.Opts.ORcpt
		}
	}
	return line, nil
}

// Send runs one mail transaction. The returned SendResult says which
// recipients were refused; err is set when the transaction failed as a
// whole (MAIL or the data refused, no recipient accepted, I/O errors).
// msg is sent as is (BDAT) or dot-stuffed with bare LFs turned into CRLF
// (DATA).
func (c *Client) Send(ctx context.Context, from string, to []Recipient, opts *MailOptions, msg io.Reader) (*SendResult, error) {
	c.deadline(ctx)
	mail, err := c.mailLine(from, opts)
	if err != nil {
		return nil, err
	}
	lines := []string{mail}
	for _, r := range to {
		l, err := c.rcptLine(r)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	chunking := c.ext.Has(ExtChunking)
	pipelining := c.ext.Has(ExtPipelining)
	// With PIPELINING the first chunk of a BDAT transaction goes out with
	// MAIL and RCPT (RFC 3030 4.2): a message up to ChunkSize costs one
	// round trip. A server refusing every recipient refuses the chunk.
	var buf []byte
	var first []byte
	firstLast := false
	if pipelining && chunking {
		buf = make([]byte, ChunkSize)
		n, err := io.ReadFull(msg, buf)
		firstLast = err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !firstLast {
			return nil, err
		}
		first = buf[:n]
		l := "BDAT " + strconv.Itoa(n)
		if firstLast {
			l += " LAST"
		}
		lines = append(lines, l)
	}
	if pipelining && !chunking {
		lines = append(lines, "DATA")
	}
	res := &SendResult{Rcpt: make([]error, len(to))}
	accepted := 0
	var mailErr error
	for i, l := range lines {
		c.w.WriteString(l + "\r\n")
		if first != nil && i == len(lines)-1 {
			c.w.Write(first)
		}
		if !pipelining || i == len(lines)-1 {
			if err := c.w.Flush(); err != nil {
				return nil, err
			}
		}
		if pipelining {
			continue
		}
		rep, err := c.readReply()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if rep.Code != 250 {
				return nil, replyError(rep)
			}
			continue
		}
		if rep.Code != 250 && rep.Code != 251 {
			res.Rcpt[i-1] = replyError(rep)
		} else {
			accepted++
		}
	}
	var dataRep *smtpwire.Reply
	if pipelining {
		for i := range lines {
			rep, err := c.readReply()
			if err != nil {
				return nil, err
			}
			switch {
			case i == 0:
				if rep.Code != 250 {
					mailErr = replyError(rep)
				}
			case i <= len(to):
				if rep.Code != 250 && rep.Code != 251 {
					res.Rcpt[i-1] = replyError(rep)
				} else {
					accepted++
				}
			default:
				dataRep = rep
			}
		}
	}
	if mailErr != nil || accepted == 0 {
		if dataRep != nil && dataRep.Code == 354 {
			// Some servers say 354 regardless; send an empty message
			// and let them refuse it.
			d := smtpwire.NewDotWriter(c.w)
			d.Close()
			c.w.Flush()
			c.readReply()
		}
		c.Reset(ctx)
		if mailErr != nil {
			return res, mailErr
		}
		return res, &Error{Code: 554, Enhanced: Enhanced{5, 5, 1}, Message: "no valid recipients"}
	}
	var final *smtpwire.Reply
	switch {
	case first != nil && (firstLast || dataRep.Code != 250):
		final = dataRep
	case chunking:
		final, err = c.sendChunks(msg, buf)
	default:
		final, err = c.sendData(msg, dataRep)
	}
	if err != nil {
		return res, err
	}
	if final.Code != 250 {
		return res, replyError(final)
	}
	res.Reply = final.Text()
	return res, nil
}

// sendData sends DATA (unless already pipelined) and the dot-stuffed
// content.
func (c *Client) sendData(msg io.Reader, rep *smtpwire.Reply) (*smtpwire.Reply, error) {
	if rep == nil {
		c.w.WriteString("DATA\r\n")
		if err := c.w.Flush(); err != nil {
			return nil, err
		}
		var err error
		if rep, err = c.readReply(); err != nil {
			return nil, err
		}
	}
	if rep.Code != 354 {
		return nil, replyError(rep)
	}
	d := smtpwire.NewDotWriter(c.w)
	if _, err := io.Copy(d, msg); err != nil {
		c.conn.Close()
		return nil, err
	}
	d.Close()
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.readReply()
}

// sendChunks sends the (rest of the) content as BDAT chunks (RFC 3030),
// waiting for each chunk's reply; buf, when not nil, is the buffer to
// use.
func (c *Client) sendChunks(msg io.Reader, buf []byte) (*smtpwire.Reply, error) {
	if buf == nil {
		buf = make([]byte, ChunkSize)
	}
	for {
		n, err := io.ReadFull(msg, buf)
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			c.conn.Close()
			return nil, err
		}
		c.w.WriteString("BDAT " + strconv.Itoa(n))
		if last {
			c.w.WriteString(" LAST")
		}
		c.w.WriteString("\r\n")
		c.w.Write(buf[:n])
		if err := c.w.Flush(); err != nil {
			return nil, err
		}
		rep, rerr := c.readReply()
		if rerr != nil {
			return nil, rerr
		}
		if last || rep.Code != 250 {
			return rep, nil
		}
	}
}
