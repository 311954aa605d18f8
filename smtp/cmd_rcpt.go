package smtp

import (
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/restrict"
)

// cmdRcpt handles RCPT TO (RFC 5321 4.1.1.3).
func (ss *session) cmdRcpt(arg string) bool {
	s := ss.srv
	if ss.from == nil {
		ss.reply(503, "5.5.1", "Error: need MAIL command")
		return false
	}
	ss.rcptTried = true
	to, params, err := ss.parsePath(arg, "TO:", true)
	if err != nil || to == "" {
		if len(arg) < 3 || !strings.EqualFold(arg[:3], "TO:") {
			ss.reply(501, "5.5.4", "Syntax: RCPT TO:<address>")
		} else {
			ss.reply(501, "5.1.3", "Bad recipient address syntax")
		}
		return false
	}
	var opts RcptOptions
	for _, p := range params {
		switch {
		case p.Key == "NOTIFY" && s.ext().Has(ExtDSN):
			if !validNotify(p.Value) {
				ss.reply(501, "5.5.4", "Error: Bad NOTIFY parameter syntax")
				return false
			}
			opts.Notify = strings.ToUpper(p.Value)
		case p.Key == "ORCPT" && s.ext().Has(ExtDSN):
			opts.ORcpt = p.Value
		default:
			unsupported := "Unsupported option: " + p.Key
			if p.Value != "" {
				unsupported += "=" + p.Value
			}
			ss.reply(555, "5.5.4", unsupported)
			return false
		}
	}
	if !ss.mailOpts.UTF8 && !smtpwire.IsASCII(to) {
		ss.reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
		return false
	}
	if len(ss.rcpts) >= ss.lim.rcpts {
		// Not an error (and counted as a success, as Postfix counts it)
		// until MaxRecipientOvershoot such RCPTs were refused.
		ss.reply(452, "4.5.3", "Error: too many recipients")
		ss.overshoot++
		return ss.overshoot <= ss.lim.overshoot
	}
	if s.Limiter != nil && ss.limited(s.Limiter.Recipient, "Recipient address") {
		return false
	}
	for _, d := range []*restrict.Decision{ss.delayedConn, ss.delayedHelo, ss.delayed} {
		if d != nil {
			ss.logReject("RCPT", *d, to)
			ss.replyDecision(*d)
			return false
		}
	}
	if d, refused := ss.checkPolicy(StageRecipient, to); refused {
		ss.logReject("RCPT", d, to)
		ss.replyDecision(d)
		return false
	}
	if rc, ok := ss.be.(RcptChecker); ok {
		if err := rc.Rcpt(ss.ctx, to, &opts); err != nil {
			e := asError(err)
			ss.logReject("RCPT", restrict.Decision{Code: e.Code, Enhanced: e.Enhanced.String(), Text: e.Message}, to)
			ss.replyErr(e)
			return false
		}
	}
	ss.logQueued()
	ss.rcpts = append(ss.rcpts, Recipient{Addr: to, Opts: opts})
	ss.reply(250, "2.1.5", "Ok")
	return true
}

// parsePath parses the argument of MAIL or RCPT: strictly with
// Server.StrictRFC821Envelopes, else as loosely as Postfix's smtpd.
func (ss *session) parsePath(arg, prefix string, rcpt bool) (string, []smtpwire.Param, error) {
	if ss.srv.StrictRFC821Envelopes {
		return smtpwire.ParsePathArg(arg, prefix, rcpt)
	}
	return smtpwire.ParsePathArgLoose(arg, prefix)
}

func validNotify(v string) bool {
	v = strings.ToUpper(v)
	if v == "NEVER" {
		return true
	}
	for _, f := range strings.Split(v, ",") {
		if f != "SUCCESS" && f != "FAILURE" && f != "DELAY" {
			return false
		}
	}
	return true
}

// logReject writes Postfix's "NOQUEUE: reject:" line ("QUEUEID: reject:"
// once a recipient was accepted).
func (ss *session) logReject(verb string, d restrict.Decision, rcpt string) {
	from := ""
	if ss.from != nil {
		from = *ss.from
	}
	kind := "reject"
	proto := "SMTP"
	if ss.info.ESMTP {
		proto = "ESMTP"
	}
	line := ss.logID() + ": " + kind + ": " + verb + " from " + ss.clientStr + ": " + strconv.Itoa(d.Code) + " " + d.Enhanced + " " + d.Text +
		"; from=<" + from + "> to=<" + rcpt + "> proto=" + proto + " helo=<" + ss.info.Helo + ">"
	ss.srv.logger().Info(line, "service", ss.info.Service)
}
