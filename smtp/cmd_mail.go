package smtp

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// cmdMail handles MAIL FROM (RFC 5321 4.1.1.2) and its parameters.
func (ss *session) cmdMail(arg string) bool {
	s := ss.srv
	switch {
	case ss.info.Helo == "" && s.heloRequired():
		ss.reply(503, "5.5.1", "Error: send HELO/EHLO first")
		return false
	case s.TLSRequired && ss.info.TLS == nil:
		ss.reply(530, "5.7.0", "Must issue a STARTTLS command first")
		return false
	case s.AuthRequired && ss.info.AuthUser == "":
		ss.reply(530, "5.7.0", "Authentication required")
		return false
	case ss.from != nil:
		ss.reply(503, "5.5.1", "Error: nested MAIL command")
		return false
	}
	from, params, err := ss.parsePath(arg, "FROM:", false)
	if err != nil {
		if len(arg) < 5 || !strings.EqualFold(arg[:5], "FROM:") {
			ss.reply(501, "5.5.4", "Syntax: MAIL FROM:<address>")
		} else {
			ss.reply(501, "5.1.7", "Bad sender address syntax")
		}
		return false
	}
	// Parameters as Postfix's smtpd takes them: after HELO as after EHLO,
	// AUTH= accepted (and ignored) without AUTH, anything else refused
	// with the whole parameter named.
	var opts MailOptions
	ext := s.ext()
	for _, p := range params {
		unsupported := "Unsupported option: " + p.Key
		if p.Value != "" {
			unsupported += "=" + p.Value
		}
		switch {
		case p.Key == "SIZE" && ext.Has(ExtSize):
			if p.Value == "" || strings.Trim(p.Value, "0123456789") != "" {
				ss.reply(501, "5.5.4", "Bad message size syntax")
				return false
			}
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil {
				ss.reply(552, "5.3.4", "Message size exceeds file system imposed limit")
				return false
			}
			opts.Size = n
		case p.Key == "BODY":
			v := strings.ToUpper(p.Value)
			if v != "7BIT" && !(v == "8BITMIME" && ext.Has(Ext8BitMIME)) && !(v == "BINARYMIME" && ext.Has(ExtBinaryMIME|ExtChunking)) {
				ss.reply(555, "5.5.4", unsupported)
				return false
			}
			opts.Body = v
		case p.Key == "SMTPUTF8" && ext.Has(ExtSMTPUTF8) && p.Value == "":
			opts.UTF8 = true
		case p.Key == "RET" && ext.Has(ExtDSN):
			v := strings.ToUpper(p.Value)
			if v != "FULL" && v != "HDRS" {
				ss.reply(501, "5.5.4", "Bad RET parameter syntax")
				return false
			}
			opts.Ret = v
		case p.Key == "ENVID" && ext.Has(ExtDSN):
			opts.EnvID = p.Value
		case p.Key == "AUTH":
			if ss.srv.Authenticator != nil {
				opts.Auth = p.Value
			}
		default:
			ss.reply(555, "5.5.4", unsupported)
			return false
		}
	}
	if !opts.UTF8 && !smtpwire.IsASCII(from) {
		ss.reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
		return false
	}
	if max := s.maxMessageBytes(); max > 0 && opts.Size > max {
		ss.reply(552, "5.3.4", "Message size exceeds fixed limit")
		return false
	}
	if s.Limiter != nil && ss.limited(s.Limiter.Message, "Message delivery request") {
		return false
	}
	ss.from = &from
	ss.mailOpts = opts
	ss.queueID = newQueueID()
	ss.discard = false
	if d, refused := ss.checkPolicy(StageSender, ""); refused {
		if !s.delayReject() {
			ss.logReject("MAIL", d, "")
			ss.replyDecision(d)
			ss.from = nil
			return false
		}
		ss.delayed = &d
	}
	if mc, ok := ss.be.(MailChecker); ok {
		if err := mc.Mail(ss.ctx, from, &opts); err != nil {
			ss.replyErr(asError(err))
			ss.from = nil
			return false
		}
	}
	ss.reply(250, "2.1.0", "Ok")
	return true
}

// logQueued writes the transaction's "QUEUEID: client=" line, once, when
// its first recipient is accepted: Postfix's smtpd creates the queue file
// (and logs the line) then, so a transaction that ends with every
// recipient refused has only its "NOQUEUE: reject:" lines.
func (ss *session) logQueued() {
	if ss.queued {
		return
	}
	ss.queued = true
	line := ss.queueID + ": client=" + ss.clientStr
	if ss.info.AuthUser != "" {
		line += ", sasl_method=" + ss.info.AuthMechanism + ", sasl_username=" + ss.info.AuthUser
	}
	ss.srv.logger().Info(line, "service", ss.info.Service)
}

// logID is the transaction's name in reject lines: its queue ID once the
// client= line was logged, else NOQUEUE, as Postfix's smtpd.
func (ss *session) logID() string {
	if ss.queued {
		return ss.queueID
	}
	return "NOQUEUE"
}

// newQueueID returns a Postfix-looking queue ID (hex, upper case).
func newQueueID() string {
	var b [5]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
