package smtpwire

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
)

// DefaultChunkSize is the size of the BDAT chunks a Client sends.
const DefaultChunkSize = 256 << 10

// maxParamLine bounds a MAIL or RCPT line the client writes (RFC 5321
// allows 512 octets before extensions; SMTPUTF8, DSN and AUTH= add
// theirs).
const maxParamLine = 2048

// MailOptions are the MAIL FROM parameters of a transaction, in the
// form they take on the wire. smtp.MailOptions has the same fields.
type MailOptions struct {
	// Size is declared with SIZE= (RFC 1870) when the server offers SIZE;
	// a message larger than the server's limit is refused before MAIL.
	Size int64
	// Body is "7BIT", "8BITMIME" or "BINARYMIME" (RFC 6152, RFC 3030),
	// "" for none.
	Body string
	// UTF8 asks for SMTPUTF8 (RFC 6531); it is added anyway when an
	// address is not ASCII.
	UTF8 bool
	// Ret is the DSN RET ("FULL" or "HDRS"), sent when the server offers
	// DSN.
	Ret string
	// EnvID is the DSN ENVID as xtext (RFC 3461 4.4), sent when the
	// server offers DSN.
	EnvID string
	// Auth is the AUTH= parameter as xtext, or "<>" (RFC 4954 5), sent
	// when the server offers AUTH.
	Auth string
}

// RcptOptions are the RCPT TO parameters of one recipient.
type RcptOptions struct {
	// Notify is the DSN NOTIFY ("NEVER" or a comma list of SUCCESS,
	// FAILURE, DELAY), sent when the server offers DSN.
	Notify string
	// ORcpt is the DSN ORCPT, "type;xtext" ("rfc822;a@example.jp"),
	// sent when the server offers DSN.
	ORcpt string
}

// Recipient is one recipient of a transaction.
type Recipient struct {
	Addr string
	Opts RcptOptions
}

// SendResult is the outcome of a transaction.
type SendResult struct {
	// Rcpt holds, per recipient in order, nil when the recipient was
	// accepted (LMTP: the message was delivered to it), otherwise its
	// error: the server's *Error, or a *FieldError for a recipient the
	// client refused to send. When Send also returns an error, a nil
	// entry means that error applies to that recipient.
	Rcpt []error
	// Replies holds, per recipient, the reply that decided it: its RCPT
	// reply when refused there, else the reply after the data (SMTP: the
	// one reply for all; LMTP: its own). Nil where no reply came.
	Replies []*Reply
	// Reply is the text of the final positive reply without the code and
	// enhanced code ("Ok: queued as ..."); for LMTP, that of the first
	// delivered recipient.
	Reply string
}

// Send runs one mail transaction: MAIL FROM, RCPT TO for each recipient
// and the content with DATA (dot-stuffed) or, when an SMTP server offers
// CHUNKING, with BDAT chunks. With PIPELINING the commands go out
// together, and the first BDAT chunk with them (RFC 2920, RFC 3030 4.2),
// so a small message costs one round trip.
//
// Every field is checked before anything is written: an invalid sender
// or MAIL parameter fails the call with a *FieldError, an invalid
// recipient or RCPT parameter fails that recipient only (its Rcpt entry)
// and it is not sent. The content's line endings are made CRLF for DATA
// and BDAT alike (a bare CR or LF becomes CRLF; see DotWriter), except
// with BODY=BINARYMIME, whose bytes go as they are.
//
// err is set when the transaction failed as a whole: MAIL or the data
// refused, no recipient accepted, the message over the server's SIZE, an
// I/O error or timeout. LMTP (RFC 2033 4.2) reads one reply per accepted
// recipient after the data; a refusal there is that recipient's error,
// not err.
func (c *Client) Send(ctx context.Context, from string, to []Recipient, opts *MailOptions, msg io.Reader) (*SendResult, error) {
	if opts == nil {
		opts = &MailOptions{}
	}
	mail, err := c.mailLine(from, to, opts)
	if err != nil {
		return nil, err
	}
	res := &SendResult{Rcpt: make([]error, len(to)), Replies: make([]*Reply, len(to))}
	var rcptLines []string
	var rcptIdx []int // recipient index of each line
	for i, r := range to {
		l, err := c.rcptLine(r)
		if err != nil {
			res.Rcpt[i] = err
			continue
		}
		rcptLines = append(rcptLines, l)
		rcptIdx = append(rcptIdx, i)
	}
	if len(rcptLines) == 0 {
		return res, &Error{Code: 554, Enhanced: Enhanced{5, 5, 1}, Message: "no valid recipients"}
	}
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.end()
	t := c.Timeouts
	_, pipelining := c.ext["PIPELINING"]
	_, chunking := c.ext["CHUNKING"]
	chunking = chunking && !c.LMTP
	binary := strings.EqualFold(opts.Body, "BINARYMIME")
	if !binary {
		msg = CRLFReader(msg)
	}

	// The first chunk is read before anything is written, so that an
	// error reading the message leaves the session clean.
	var first []byte
	var buf []byte
	firstLast := false
	if pipelining && chunking {
		buf = make([]byte, orInt(c.ChunkSize, DefaultChunkSize))
		n, err := io.ReadFull(msg, buf)
		firstLast = err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !firstLast {
			return nil, err
		}
		first = buf[:n]
	}

	// MAIL and RCPT, pipelined or one by one.
	accepted := 0
	var acceptedIdx []int
	var mailErr error
	var dataRep *Reply // reply to a pipelined DATA or first BDAT
	rcptReply := func(k int, rep *Reply) {
		i := rcptIdx[k]
		if rep.Code/100 == 2 {
			accepted++
			acceptedIdx = append(acceptedIdx, i)
		} else {
			res.Rcpt[i], res.Replies[i] = ReplyError(rep), rep
		}
	}
	if pipelining {
		c.writeLine(mail)
		for _, l := range rcptLines {
			c.writeLine(l)
		}
		if chunking {
			c.writeLine(bdatLine(len(first), firstLast))
			c.w.Write(first)
		} else {
			c.writeLine("DATA")
		}
		if err := c.flush(ctx, t.Mail, "sending MAIL FROM"); err != nil {
			return res, err
		}
		rep, err := c.read(ctx, t.Mail, "reading the reply to MAIL FROM")
		if err != nil {
			return res, err
		}
		if rep.Code/100 != 2 {
			mailErr = ReplyError(rep)
		}
		for k := range rcptLines {
			rep, err := c.read(ctx, t.Rcpt, "reading the reply to RCPT TO")
			if err != nil {
				return res, err
			}
			if mailErr == nil {
				rcptReply(k, rep)
			}
		}
		d := t.DataInit
		if firstLast {
			d = t.DataDone
		}
		verb := "DATA"
		if chunking {
			verb = "BDAT"
		}
		if dataRep, err = c.read(ctx, d, "reading the reply to "+verb); err != nil {
			return res, err
		}
	} else {
		if _, err := c.cmd(ctx, t.Mail, 2, mail); err != nil {
			return res, err
		}
		for k, l := range rcptLines {
			rep, err := c.cmd(ctx, t.Rcpt, 2, l)
			if rep == nil {
				return res, err
			}
			rcptReply(k, rep)
		}
	}
	if mailErr != nil || accepted == 0 {
		if dataRep != nil && dataRep.Code == 354 && c.LMTP {
			// An LMTP server owes no reply after the data of a
			// transaction without recipients: the session is out of
			// step.
			return res, c.fail(ctx, "DATA", errors.New("354 reply without accepted recipients"))
		}
		if dataRep != nil && dataRep.Code == 354 {
			// A server that says 354 anyway gets an empty message, to
			// be refused without recipients.
			d := NewDotWriter(c.w)
			d.Close()
			if err := c.flush(ctx, t.DataDone, "sending the end of data"); err != nil {
				return res, err
			}
			if _, err := c.read(ctx, t.DataDone, "reading the reply to the end of data"); err != nil {
				return res, err
			}
		}
		c.rset(ctx)
		if mailErr != nil {
			return res, mailErr
		}
		return res, &Error{Code: 554, Enhanced: Enhanced{5, 5, 1}, Message: "no valid recipients"}
	}

	// The content.
	var final *Reply
	switch {
	case first != nil && (firstLast || dataRep.Code/100 != 2):
		final = dataRep
	case chunking:
		final, err = c.sendChunks(ctx, msg, buf)
	default:
		final, err = c.sendData(ctx, msg, dataRep)
	}
	if err != nil {
		return res, err
	}
	if c.LMTP && final.Code == 354 {
		// One reply per accepted recipient (RFC 2033 4.2).
		for _, i := range acceptedIdx {
			rep, err := c.read(ctx, t.DataDone, "reading the reply to the end of data")
			if err != nil {
				return res, err
			}
			res.Replies[i] = rep
			if rep.Code/100 != 2 {
				res.Rcpt[i] = ReplyError(rep)
			} else if res.Reply == "" {
				res.Reply = rep.Text()
			}
		}
		return res, nil
	}
	if final.Code/100 != 2 {
		if final.Code/100 == 3 {
			// A 3xx after BDAT, or to the end of DATA: out of step.
			return res, c.fail(ctx, "the data", errors.New("unexpected reply "+strconv.Itoa(final.Code)))
		}
		// A refused DATA or BDAT chunk leaves the transaction open; after
		// the end of the data RSET does no harm.
		c.rset(ctx)
		return res, ReplyError(final)
	}
	for _, i := range acceptedIdx {
		res.Replies[i] = final
	}
	res.Reply = final.Text()
	return res, nil
}

func bdatLine(n int, last bool) string {
	l := "BDAT " + strconv.Itoa(n)
	if last {
		l += " LAST"
	}
	return l
}

// rset sends RSET after a failed transaction, ignoring its outcome.
func (c *Client) rset(ctx context.Context) {
	if c.broken == nil {
		c.cmd(ctx, c.Timeouts.Rset, 2, "RSET")
	}
}

// sendData sends DATA (unless already pipelined, rep its reply) and the
// dot-stuffed content. SMTP: it returns the reply after the data. LMTP:
// it returns the 354 reply and leaves the replies after the data unread.
func (c *Client) sendData(ctx context.Context, msg io.Reader, rep *Reply) (*Reply, error) {
	t := c.Timeouts
	if rep == nil {
		var err error
		rep, err = c.cmd(ctx, t.DataInit, 3, "DATA")
		if rep == nil {
			return nil, err
		}
	}
	if rep.Code != 354 {
		if rep.Code/100 == 2 {
			return nil, c.fail(ctx, "DATA", errors.New("unexpected reply "+strconv.Itoa(rep.Code)))
		}
		return rep, nil
	}
	if err := c.arm(ctx, t.DataXfer); err != nil {
		return nil, c.fail(ctx, "sending the message", err)
	}
	c.xfer = orTimeout(t.DataXfer, c.Timeout)
	d := NewDotWriter(c.w)
	if _, err := io.Copy(d, msg); err != nil {
		// The data cannot be ended without sending what was read: the
		// session is unusable.
		return nil, c.fail(ctx, "sending the message", err)
	}
	d.Close()
	if err := c.w.Flush(); err != nil {
		return nil, c.fail(ctx, "sending the message", err)
	}
	c.xfer = 0
	if c.LMTP {
		return rep, nil
	}
	return c.read(ctx, t.DataDone, "reading the reply to the end of data")
}

// sendChunks sends the (rest of the) content as BDAT chunks (RFC 3030),
// reading each chunk's reply; buf, when not nil, is the buffer to use.
func (c *Client) sendChunks(ctx context.Context, msg io.Reader, buf []byte) (*Reply, error) {
	t := c.Timeouts
	if buf == nil {
		buf = make([]byte, orInt(c.ChunkSize, DefaultChunkSize))
	}
	for {
		n, err := io.ReadFull(msg, buf)
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			// Nothing of this chunk was sent; the transaction is still
			// open, so end it.
			c.rset(ctx)
			return nil, err
		}
		c.writeLine(bdatLine(n, last))
		if err := c.arm(ctx, t.DataXfer); err != nil {
			return nil, c.fail(ctx, "sending the message", err)
		}
		c.xfer = orTimeout(t.DataXfer, c.Timeout)
		c.w.Write(buf[:n])
		err = c.w.Flush()
		c.xfer = 0
		if err != nil {
			return nil, c.fail(ctx, "sending the message", err)
		}
		d := t.DataInit
		if last {
			d = t.DataDone
		}
		rep, err := c.read(ctx, d, "reading the reply to BDAT")
		if err != nil {
			return nil, err
		}
		if last || rep.Code/100 != 2 {
			return rep, nil
		}
	}
}

// mailLine builds MAIL FROM with the parameters the server supports,
// checking every value.
func (c *Client) mailLine(from string, to []Recipient, o *MailOptions) (string, error) {
	if err := checkPath(from, false, false); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + from + ">")
	_, hasSize := c.ext["SIZE"]
	if o.Size < 0 {
		return "", fieldErr("SIZE", strconv.FormatInt(o.Size, 10), "negative", 501, Enhanced{5, 5, 4}, "Bad message size syntax")
	}
	if max, _ := strconv.ParseInt(c.ext["SIZE"], 10, 64); max > 0 && o.Size > max {
		return "", &Error{Code: 552, Enhanced: Enhanced{5, 3, 4}, Message: "message size " + strconv.FormatInt(o.Size, 10) + " exceeds size limit " + strconv.FormatInt(max, 10) + " of server"}
	}
	if o.Size > 0 && hasSize {
		b.WriteString(" SIZE=" + strconv.FormatInt(o.Size, 10))
	}
	if o.Body != "" {
		body := strings.ToUpper(o.Body)
		_, has8 := c.ext["8BITMIME"]
		_, hasBin := c.ext["BINARYMIME"]
		_, hasChunk := c.ext["CHUNKING"]
		switch {
		case body != "7BIT" && body != "8BITMIME" && body != "BINARYMIME":
			return "", fieldErr("BODY", o.Body, "not 7BIT, 8BITMIME or BINARYMIME", 501, Enhanced{5, 5, 4}, "Bad BODY parameter syntax")
		case body == "8BITMIME" && !has8:
			return "", &Error{Code: 554, Enhanced: Enhanced{5, 6, 3}, Message: "server does not support BODY=8BITMIME"}
		case body == "BINARYMIME" && !(hasBin && hasChunk && !c.LMTP):
			return "", &Error{Code: 554, Enhanced: Enhanced{5, 6, 3}, Message: "server does not support BODY=BINARYMIME"}
		}
		if has8 || hasBin {
			b.WriteString(" BODY=" + body)
		}
	}
	utf8 := o.UTF8 || !IsASCII(from)
	for _, r := range to {
		utf8 = utf8 || !IsASCII(r.Addr)
	}
	if utf8 {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return "", &Error{Code: 553, Enhanced: Enhanced{5, 6, 7}, Message: "server does not support SMTPUTF8"}
		}
		b.WriteString(" SMTPUTF8")
	}
	_, dsn := c.ext["DSN"]
	if o.Ret != "" {
		ret := strings.ToUpper(o.Ret)
		if ret != "FULL" && ret != "HDRS" {
			return "", fieldErr("RET", o.Ret, "not FULL or HDRS", 501, Enhanced{5, 5, 4}, "Bad RET parameter syntax")
		}
		if dsn {
			b.WriteString(" RET=" + ret)
		}
	}
	if o.EnvID != "" {
		if err := checkXtextParam("ENVID", o.EnvID, 100); err != nil {
			return "", err
		}
		if dsn {
			b.WriteString(" ENVID=" + o.EnvID)
		}
	}
	if o.Auth != "" {
		if err := checkXtextParam("AUTH", o.Auth, 500); err != nil {
			return "", err
		}
		if _, ok := c.ext["AUTH"]; ok {
			b.WriteString(" AUTH=" + o.Auth)
		}
	}
	if b.Len() > maxParamLine {
		return "", fieldErr("MAIL FROM command", b.String(), "too long", 501, Enhanced{5, 5, 4}, "Command too long")
	}
	return b.String(), checkLine(b.String())
}

// rcptLine builds RCPT TO for one recipient, checking every value.
func (c *Client) rcptLine(r Recipient) (string, error) {
	if err := checkPath(r.Addr, true, c.LMTP); err != nil {
		return "", err
	}
	line := "RCPT TO:<" + r.Addr + ">"
	_, dsn := c.ext["DSN"]
	if r.Opts.Notify != "" {
		n, err := checkNotify(r.Opts.Notify)
		if err != nil {
			return "", err
		}
		if dsn {
			line += " NOTIFY=" + n
		}
	}
	if r.Opts.ORcpt != "" {
		if err := checkORcpt(r.Opts.ORcpt); err != nil {
			return "", err
		}
		if dsn {
			line += " ORCPT=" + r.Opts.ORcpt
		}
	}
	if len(line) > maxParamLine {
		return "", fieldErr("RCPT TO command", line, "too long", 501, Enhanced{5, 5, 4}, "Command too long")
	}
	return line, checkLine(line)
}
