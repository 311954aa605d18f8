package smtp

import (
	"strings"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// dispatch runs one command; ok is false when it failed (counted towards
// MaxErrors only for client errors), fatal ends the session.
func (ss *session) dispatch(cmd smtpwire.Command) (ok, fatal bool) {
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
	case "RSET":
		ok = ss.cmdRset(cmd.Arg)
	case "NOOP":
		ss.reply(250, "2.0.0", "Ok")
		ok = true
	case "VRFY":
		ok = ss.cmdVrfy(cmd.Arg)
	case "HELP":
		ss.reply(214, "2.0.0", "See RFC 5321")
		ok = true
	case "QUIT":
		ss.reply(221, "2.0.0", "Bye")
		ss.quit = true
		ok = true
	default:
		name = "unknown"
		ss.lastVerb = "UNKNOWN"                                 // as Postfix names it in "... after UNKNOWN from"
		ss.reply(500, "5.5.2", "Error: command not recognized") // Postfix 3.7's code
	}
	ss.stats.count(name, ok)
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

func (ss *session) cmdVrfy(arg string) bool {
	if !ss.srv.EnableVRFY {
		ss.reply(502, "5.5.1", "VRFY command is disabled")
		return false
	}
	if arg == "" {
		ss.reply(501, "5.5.4", "Syntax: VRFY address")
		return false
	}
	ss.reply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery")
	return true
}
