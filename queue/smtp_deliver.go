package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/smtp"
)

// contentReaders recycle the buffers the queue file is read through when
// it is sent: the client engine reads its content 2 KiB at a time, each
// read a pread(2) of the queue file without them.
var contentReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// transact runs one mail transaction on s for the pending recipients
// (indexes into d.Recipients) and writes their results. It returns the
// recipients to try on the next server: those with a 4xx answer when
// this server is not the final one.
func (a *smtpAttempt) transact(ctx context.Context, s *smtpSession, pending []int, results []Result, final bool) (retry []int) {
	d := a.d
	env := d.Envelope
	s.watch(ctx)
	ext := s.c.Extensions()
	set := func(r Result) {
		for _, i := range pending {
			results[i] = r
		}
	}
	base := Result{Relay: s.relay, RemoteMTA: s.host, Conn: s.conn}
	s.conn = 0 // a reused session costs no setup time
	local := func(status Status, dsn, format string, args ...any) {
		r := base
		r.Status, r.DSN, r.Text = status, dsn, fmt.Sprintf(format, args...)
		set(r)
	}
	if !validPath(env.From, true) {
		local(Bounced, "5.1.7", "bad sender address syntax: %q", smtpTruncate(env.From, 100))
		return nil
	}
	// A recipient that cannot be written in RCPT TO bounces alone.
	valid := pending[:0:0]
	for _, i := range pending {
		if validPath(d.Recipients[i].Addr, false) {
			valid = append(valid, i)
			continue
		}
		r := base
		r.Status, r.DSN = Bounced, "5.1.3"
		r.Text = fmt.Sprintf("bad recipient address syntax: %q", smtpTruncate(d.Recipients[i].Addr, 100))
		results[i] = r
	}
	if pending = valid; len(pending) == 0 {
		return nil
	}
	if max := s.c.MaxMessageSize(); max > 0 && d.Size > max {
		local(Bounced, "5.3.4", "message size %d exceeds size limit %d of server %s", d.Size, max, s.relay)
		return nil
	}
	needUTF8 := !smtpwire.IsASCII(env.From)
	rcpts := make([]smtp.Recipient, len(pending))
	for k, i := range pending {
		r := d.Recipients[i]
		if !smtpwire.IsASCII(r.Addr) {
			needUTF8 = true
		}
		rcpts[k] = smtp.Recipient{Addr: r.Addr, Opts: smtp.RcptOptions{Notify: esmtpValue(r.Notify), ORcpt: esmtpValue(smtpORCPT(r))}}
	}
	if needUTF8 && !ext.Has(smtp.ExtSMTPUTF8) {
		local(Bounced, "5.6.7", "SMTPUTF8 is required, but was not offered by host %s", s.relay)
		return nil
	}
	opts := &smtp.MailOptions{
		Size:  d.Size,
		UTF8:  needUTF8 || env.UTF8 && ext.Has(smtp.ExtSMTPUTF8),
		Ret:   esmtpValue(env.Ret),
		EnvID: esmtpValue(env.EnvID),
	}
	if env.Auth != "" {
		opts.Auth = esmtpValue(smtpXtext(env.Auth))
	}
	switch strings.ToUpper(env.Body) {
	case "8BITMIME":
		if ext.Has(smtp.Ext8BitMIME) {
			opts.Body = "8BITMIME"
		}
	case "BINARYMIME":
		if !ext.Has(smtp.ExtBinaryMIME) || !ext.Has(smtp.ExtChunking) {
			local(Bounced, "5.6.3", "binary content is required, but BINARYMIME was not offered by host %s", s.relay)
			return nil
		}
		opts.Body = "BINARYMIME"
	}
	body, err := d.Open()
	if err != nil {
		a.log.Error("cannot open queue file", "queue_id", env.ID, "error", err.Error())
		local(Deferred, "4.3.0", "mail system error: cannot read message content")
		return nil
	}
	if a.t.mimeDowngrade(env, ext) {
		// 8BITMIME to 7bit (smtp_downgrade.go); no SIZE, as Postfix.
		body, opts.Size = downgradeReader(body), 0
	}
	xfer := time.Now()
	br := contentReaders.Get().(*bufio.Reader)
	br.Reset(body)
	res, err := s.c.Send(ctx, env.From, rcpts, opts, br)
	br.Reset(nil)
	contentReaders.Put(br)
	body.Close()
	base.Xfer = time.Since(xfer)
	base.DSNPassed = ext.Has(smtp.ExtDSN)

	var e *smtp.Error
	ioErr := err != nil && !errors.As(err, &e)
	if ioErr {
		s.broken = true
	}
	mailRefused := false
	if e != nil {
		accepted := 0
		if res != nil {
			for _, re := range res.Rcpt {
				if re == nil {
					accepted++
				}
			}
		}
		noValid := e.Code == 554 && e.Enhanced == (smtp.Enhanced{5, 5, 1}) && e.Message == "no valid recipients"
		mailRefused = res == nil || accepted == 0 && !noValid
	}
	for k, i := range pending {
		var r Result
		var rcptErr *smtp.Error
		if res != nil && k < len(res.Rcpt) && res.Rcpt[k] != nil && !mailRefused {
			if !errors.As(res.Rcpt[k], &rcptErr) {
				rcptErr = &smtp.Error{Code: 554, Message: res.Rcpt[k].Error()}
			}
		}
		switch {
		case rcptErr != nil:
			r = *s.replyResult(rcptErr, "RCPT TO")
		case ioErr:
			r = *s.convFail(err)
		case e != nil && mailRefused:
			r = *s.replyResult(e, "MAIL FROM")
			if res == nil && s.pc.verb != "MAIL FROM" {
				// Refused by the client itself (a parameter the server
				// does not support): not the server's words.
				r = Result{Status: Bounced, DSN: smtpOrStr(e.Enhanced.String(), "5.5.0"), Text: smtpReplyText(e)}
			}
		case e != nil:
			r = *s.replyResult(e, s.pc.verb)
		default:
			r = Result{Status: Sent, Code: 250, DSN: smtpReplyDSN(s.pc.lastReply, "2.0.0"), Text: s.pc.lastReply, Remote: true}
			if s.pc.lastCode >= 200 && s.pc.lastCode < 300 {
				r.Code = s.pc.lastCode
			}
		}
		r.Relay, r.RemoteMTA, r.Conn, r.Xfer, r.DSNPassed = base.Relay, base.RemoteMTA, base.Conn, base.Xfer, base.DSNPassed
		results[i] = r
		if r.Status == Deferred && !final {
			retry = append(retry, i)
		}
	}
	return retry
}

// release puts a healthy session in the connection cache, or ends it.
func (a *smtpAttempt) release(s *smtpSession) {
	s.detach()
	if s.broken {
		s.c.Close()
		return
	}
	if a.t.DisableConnectionCache || !a.t.cachePut(s) {
		s.quit()
	}
}

// smtpReplyDSN takes the enhanced status code from a reply line ("250 2.0.0
// Ok"), or def.
func smtpReplyDSN(reply, def string) string {
	f := strings.Fields(reply)
	if len(f) > 1 {
		if e := smtp.ParseEnhanced(f[1]); e != (smtp.Enhanced{}) && strings.HasPrefix(f[1], def[:1]+".") {
			return e.String()
		}
	}
	return def
}

// smtpORCPT is the ORCPT to pass on: the one given, or, as Postfix does,
// "rfc822;" and the address the client named when it differs.
func smtpORCPT(r Recipient) string {
	if r.ORcpt != "" {
		return r.ORcpt
	}
	if r.Orig != "" && smtpwire.IsASCII(r.Orig) {
		return "rfc822;" + smtpXtext(r.Orig)
	}
	return ""
}

// smtpXtext encodes s as RFC 3461 xtext: "+", "=" and characters outside
// "!".."~" become "+XX".
func smtpXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// maxPathLen bounds an address in MAIL FROM or RCPT TO (RFC 5321
// 4.5.3.1.3: 256 octets for a path).
const maxPathLen = 256

// validPath reports whether addr can go into MAIL FROM:<addr> or RCPT
// TO:<addr>: no control characters, angle brackets or unquoted spaces,
// not too long; "" only for the sender (the null sender <>).
func validPath(addr string, sender bool) bool {
	if addr == "" {
		return sender
	}
	if len(addr) > maxPathLen || strings.ContainsAny(addr, "<>") {
		return false
	}
	quoted := strings.HasPrefix(addr, `"`)
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if c < 0x20 || c == 0x7f || c == ' ' && !quoted {
			return false
		}
	}
	return true
}

// esmtpValue returns v when it can be an ESMTP parameter value (RFC 5321
// 4.1.2 esmtp-value: printable ASCII but "=" and space, at most 500
// octets), else "": a stored envelope must not smuggle text into a
// command line.
func esmtpValue(v string) string {
	if len(v) > 500 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < '!' || c > '~' || c == '=' {
			return ""
		}
	}
	return v
}
