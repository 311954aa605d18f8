package pop3

import (
	"encoding/base64"
	"strings"
)

// cmdAuth runs a SASL exchange (RFC 5034) through the Authenticator:
// "AUTH mech [initial-response]" ("=" is an empty initial response),
// challenges as "+ base64", "*" from the client aborts. "AUTH" alone lists
// the mechanisms.
func (s *session) cmdAuth(c command) {
	a := s.srv.Authenticator
	if a == nil {
		s.fail(errNoAuth)
		return
	}
	args := c.args()
	if len(args) == 0 {
		var b strings.Builder
		b.WriteString("+OK\r\n")
		for _, m := range a.Mechanisms(&s.info) {
			b.WriteString(m + "\r\n")
		}
		b.WriteString(".\r\n")
		s.writeString(b.String())
		return
	}
	if len(args) > 2 {
		s.fail(&Error{Text: "AUTH takes a mechanism and an optional initial response."})
		return
	}
	mech := strings.ToUpper(args[0])
	var resp []byte
	if len(args) == 2 {
		if args[1] != "=" {
			var err error
			if resp, err = base64.StdEncoding.DecodeString(args[1]); err != nil {
				s.fail(&Error{Text: "Invalid base64 data in initial response."})
				return
			}
		} else {
			resp = []byte{}
		}
	}
	sess, err := a.NewSASL(s.ctx, mech, &s.info)
	if err != nil {
		s.fail(authError(err))
		return
	}
	maxLine := orDefault(s.srv.MaxAuthLineLength, DefaultMaxAuthLineLength)
	for round := 0; ; round++ {
		challenge, done, err := sess.Next(s.ctx, resp)
		if err != nil {
			s.log.Info("pop3: AUTH failed", "mech", mech, "err", err)
			s.fail(authError(err))
			return
		}
		if done {
			s.login(sess.Identity())
			return
		}
		if round >= 32 {
			s.fail(&Error{Text: "Too many SASL rounds."})
			return
		}
		s.writeString("+ " + base64.StdEncoding.EncodeToString(challenge) + "\r\n")
		line, err := s.readAuthLine(maxLine)
		if err != nil {
			if err == errLineTooLong {
				s.fail(&Error{Text: "Authentication response too long."})
				return
			}
			s.quit = true
			return
		}
		if line == "*" {
			s.fail(&Error{Text: "Authentication aborted by client."})
			return
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			s.fail(&Error{Text: "Invalid base64 data in response."})
			return
		}
	}
}

// readAuthLine reads one client line of a SASL exchange.
func (s *session) readAuthLine(max int) (string, error) {
	if !s.flush() {
		return "", errWriteFailed
	}
	line, err := s.readCommandLine(max)
	return string(line), err
}
