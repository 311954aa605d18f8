package smtp

import (
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/restrict"
)

// dispatch runs one command; ok is false when it failed (counted towards
// MaxErrors only for client errors), fatal ends the session.
func (ss *session) dispatch(cmd smtpwire.Command) (ok, fatal bool) {
	start := time.Now()
	name := strings.ToLower(cmd.Verb)
	switch cmd.Verb {
	case "EHLO":
		ok = ss.cmdHelo(cmd.Arg, true)
	case "HELO":
		ok = ss.cmdHelo(cmd.Arg, false)
	case "STARTTLS":
		ok, fatal = ss.cmdStartTLS(cmd.Arg)
	case "AUTH":
		ok, fatal = ss.cmdAuth(cmd.Arg)
	case "MAIL":
		ok = ss.cmdMail(cmd.Arg)
	case "RCPT":
		ok = ss.cmdRcpt(cmd.Arg)
	case "DATA":
		ok, fatal = ss.cmdData(cmd.Arg)
	case "BDAT":
		ok, fatal = ss.cmdBdat(cmd.Arg)
	case "BURL":
		ok, fatal = ss.cmdBurl(cmd.Arg)
	case "RSET":
		ok = ss.cmdRset(cmd.Arg)
	case "NOOP":
		ss.reply(250, "2.0.0", "Ok")
		ok = true
	case "VRFY":
		ok = ss.cmdVrfy(cmd.Arg)
	case "ETRN":
		ok = ss.cmdEtrn(cmd.Arg)
	case "QUIT":
		ss.reply(221, "2.0.0", "Bye")
		ss.quit = true
		ok = true
	default:
		name = "unknown"
		ss.lastVerb = "UNKNOWN"                                 // as Postfix names it in "... after UNKNOWN from"
		ss.reply(500, "5.5.2", "Error: command not recognized") // Postfix 3.7's code
	}
	ss.counted(name, ok, start)
	return ok, fatal
}

func (ss *session) cmdRset(arg string) bool {
	if arg != "" {
		ss.reply(501, "5.5.4", "Syntax: RSET")
		return false
	}
	ss.resetTransaction()
	ss.reply(250, "2.0.0", "Ok")
	return true
}

// cmdVrfy answers VRFY as Postfix's smtpd does: the address goes
// through the recipient restrictions and the backend's recipient check
// (an unknown local user is refused as at RCPT time); otherwise 252,
// which promises nothing (RFC 5321 3.5.3).
func (ss *session) cmdVrfy(arg string) bool {
	if !ss.srv.EnableVRFY {
		ss.reply(502, "5.5.1", "VRFY command is disabled")
		return false
	}
	addr := strings.TrimSpace(arg)
	if strings.HasPrefix(addr, "<") && strings.HasSuffix(addr, ">") {
		addr = addr[1 : len(addr)-1]
	}
	if addr == "" || strings.ContainsAny(addr, " \t") {
		ss.reply(501, "5.5.4", "Syntax: VRFY address")
		return false
	}
	if d, refused := ss.checkPolicy(StageRecipient, addr); refused {
		ss.logReject("VRFY", d, addr)
		ss.replyDecision(d)
		return false
	}
	if rc, ok := ss.be.(RcptChecker); ok {
		if err := rc.Rcpt(ss.ctx, addr, &RcptOptions{}); err != nil {
			e := asError(err)
			ss.logReject("VRFY", restrict.Decision{Code: e.Code, Enhanced: e.Enhanced.String(), Text: e.Message}, addr)
			ss.replyErr(e)
			return false
		}
	}
	ss.reply(252, "2.0.0", addr)
	return true
}

// cmdEtrn answers ETRN (RFC 1985) as Postfix does for a site that is not
// in fast_flush_domains, which is every site here: the queue is not
// flushed on a client's request.
func (ss *session) cmdEtrn(arg string) bool {
	switch {
	case ss.info.Helo == "":
		ss.reply(503, "5.5.1", "Error: send HELO/EHLO first")
		return false
	case ss.from != nil:
		ss.reply(503, "5.5.1", "Error: MAIL transaction in progress")
		return false
	}
	fields := strings.Fields(arg)
	if len(fields) != 1 {
		ss.reply(500, "", "Syntax: ETRN domain")
		return false
	}
	site := fields[0]
	if c := site[0]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		site = site[1:] // "@domain", "#domain"
	}
	if !restrict.ValidHostname(site) {
		ss.reply(501, "", "Error: invalid parameter syntax")
		return false
	}
	ss.reply(459, "", "<"+site+">: service unavailable")
	return false
}

// counted counts a command for the "disconnect from" line and reports
// it to Server.CommandHook; start is when its line was read (now for a
// command refused before it ran).
func (ss *session) counted(name string, ok bool, start time.Time) {
	ss.stats.count(name, ok)
	if h := ss.srv.CommandHook; h != nil {
		h(strings.ToUpper(name), ok, time.Since(start))
	}
}
