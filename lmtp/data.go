package lmtp

import (
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/prefixread"
	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/internal/spool"
)

// cmdData handles DATA: the message is spooled once, then delivered to
// each accepted recipient with one reply per recipient (RFC 2033 4.2).
func (ss *session) cmdData(arg string) bool {
	if arg != "" {
		ss.reply(501, "5.5.4", "Invalid parameters")
		return false
	}
	if ss.env == nil || len(ss.env.To) == 0 {
		ss.reply(554, "5.5.1", "No valid recipients")
		return false
	}
	if ss.bdat != nil {
		ss.reply(503, "5.5.1", "DATA after BDAT")
		return false
	}
	ss.reply(354, "", "OK")
	if ss.w.Flush() != nil {
		return true
	}
	ss.dc.SetReadTimeout(orDur(ss.srv.DataTimeout, DefaultTimeout))
	dr := smtpwire.NewDataReader(ss.r)
	dr.MaxSize = ss.srv.MaxMessageBytes
	sp := spool.New(orInt64(ss.srv.MaxMemorySpool, DefaultMaxMemorySpool), ss.srv.SpoolDir)
	defer sp.Close()
	_, err := io.Copy(sp, dr)
	if derr := dr.Discard(); derr != nil {
		ss.srv.logger().Info("lmtp: lost connection in DATA from "+ss.peer, "service", "lmtp")
		ss.abortTransaction()
		return true
	}
	ss.finish(sp, err, dr.TooBig())
	return false
}

// cmdBdat handles BDAT (RFC 3030); chunks are spooled until LAST.
func (ss *session) cmdBdat(arg string) bool {
	size, last, err := smtpwire.ParseBDAT(arg)
	if err != nil {
		ss.reply(501, "5.5.4", "Invalid parameters")
		return true
	}
	ss.dc.SetReadTimeout(orDur(ss.srv.DataTimeout, DefaultTimeout))
	chunk := smtpwire.ChunkReader(ss.r, size)
	if ss.env == nil || len(ss.env.To) == 0 {
		if _, err := io.Copy(io.Discard, chunk); err != nil {
			return true
		}
		ss.reply(554, "5.5.1", "No valid recipients")
		return false
	}
	if ss.bdat == nil {
		ss.bdat = spool.New(orInt64(ss.srv.MaxMemorySpool, DefaultMaxMemorySpool), ss.srv.SpoolDir)
	}
	ss.bsize += size
	w := &keepWriter{w: ss.bdat}
	if max := ss.srv.MaxMessageBytes; max > 0 && ss.bsize > max {
		w.w = io.Discard
	}
	if _, rerr := io.Copy(w, chunk); rerr != nil {
		ss.srv.logger().Info("lmtp: lost connection in BDAT from "+ss.peer, "service", "lmtp")
		ss.abortTransaction()
		return true
	}
	if w.err != nil && ss.bdatErr == nil {
		ss.bdatErr = w.err
	}
	if !last {
		ss.reply(250, "2.0.0", "OK")
		return false
	}
	sp := ss.bdat
	ss.bdat = nil
	defer sp.Close()
	tooBig := ss.srv.MaxMessageBytes > 0 && ss.bsize > ss.srv.MaxMessageBytes
	err = ss.bdatErr
	ss.bdatErr = nil
	ss.finish(sp, err, tooBig)
	return false
}

// keepWriter writes to w until it fails, then swallows the rest so the
// connection stays in step; err is the first failure.
type keepWriter struct {
	w   io.Writer
	err error
}

func (k *keepWriter) Write(p []byte) (int, error) {
	if k.err == nil {
		if _, err := k.w.Write(p); err != nil {
			k.err = err
		}
	}
	return len(p), nil
}

// finish delivers to each recipient and sends one reply per recipient.
func (ss *session) finish(sp *spool.Spool, err error, tooBig bool) {
	env := ss.env
	ss.env = nil
	ss.bsize = 0
	log := ss.srv.logger()
	for _, rcpt := range env.To {
		switch {
		case tooBig:
			ss.reply(552, "5.3.4", "<"+rcpt+"> Message too big")
			continue
		case err != nil:
			log.Error("lmtp: spooling failed: "+err.Error(), "service", "lmtp")
			ss.reply(451, "4.3.0", "<"+rcpt+"> Temporary internal error")
			continue
		}
		env.Size = sp.Size()
		env.Received = time.Now()
		hdr := ss.headers(env, rcpt)
		derr := ss.srv.Deliverer.Deliver(ss.ctx, env, rcpt, prefixread.New(hdr, sp.Reader()))
		if derr != nil {
			e := asError(derr, rcpt)
			log.Info("lmtp: "+env.ID+": <"+rcpt+">: delivery failed: "+derr.Error(), "service", "lmtp")
			ss.reply(e.Code, e.Enhanced.String(), e.Message)
			continue
		}
		log.Info("lmtp: "+env.ID+": <"+rcpt+">: saved", "service", "lmtp", "size", env.Size)
		ss.reply(250, "2.0.0", "<"+rcpt+"> "+env.ID+" Saved")
	}
}

// headers returns the Return-Path, Delivered-To and Received fields for
// one recipient, as Dovecot's LMTP adds them.
func (ss *session) headers(env *Envelope, rcpt string) string {
	var b strings.Builder
	b.WriteString("Return-Path: <" + env.From + ">\r\n")
	b.WriteString("Delivered-To: " + rcpt + "\r\n")
	if !ss.srv.NoReceivedHeader {
		ip := ""
		if a := env.RemoteAddr; a != nil {
			ip = a.String()
			if i := strings.LastIndexByte(ip, ':'); i > 0 && !strings.HasPrefix(ip, "/") && ip != "@" {
				ip = strings.Trim(ip[:i], "[]")
			}
		}
		b.WriteString("Received: from " + sanitize(env.Helo))
		if ip != "" && ip != "@" {
			b.WriteString(" ([" + ip + "])")
		}
		b.WriteString("\r\n\tby " + ss.srv.hostname() + " with LMTP id " + env.ID + "\r\n")
		b.WriteString("\t(envelope-from <" + env.From + ">)\r\n")
		b.WriteString("\tfor <" + rcpt + ">; " + env.Received.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n")
	}
	return b.String()
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '(' || r == ')' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

// orInt64 is v, or def when v is not positive.
func orInt64(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}
