package smtp

import (
	"strings"
	"time"
)

// nonSMTP reports whether a line that is not a command looks like a
// message header field ("Subject: ..."): a client that sends the
// message where commands belong, or a browser made to post a form to
// the SMTP port.
func nonSMTP(line []byte) bool {
	name, _, _ := strings.Cut(string(line), " ")
	if len(name) < 2 || name[len(name)-1] != ':' {
		return false
	}
	for _, c := range []byte(name[:len(name)-1]) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// nonSMTP ends the session of a client that sent HTTP (GET, POST,
// CONNECT) or a header field as a command, as Postfix's smtpd does
// (TestPostfixNonSMTPCommand): nothing an HTTP client or a confused
// program sends next is a command.
func (ss *session) nonSMTP(line []byte) {
	ss.lastVerb = "UNKNOWN"
	ss.counted("unknown", false, time.Now())
	text := string(line)
	if len(text) > 100 {
		text = text[:100]
	}
	ss.srv.logger().Warn("warning: non-SMTP command from "+ss.clientStr+": "+logEscape([]byte(text)), "service", ss.info.Service)
	ss.reply(221, "2.7.0", "Error: I can break rules, too. Goodbye.")
	ss.w.Flush()
}
