package managesieve

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
)

// maxSASLRounds bounds the challenges of one AUTHENTICATE.
const maxSASLRounds = 32

// cmdStartTLS starts TLS (RFC 5804 section 2.2) and re-issues the
// capabilities, as the RFC requires.
func (s *session) cmdStartTLS(c command) {
	if !s.noArgs(c) {
		return
	}
	switch {
	case s.srv.TLSConfig == nil:
		s.fail(&Error{Text: "TLS support isn't enabled."})
		return
	case s.info.TLS != nil:
		s.fail(&Error{Text: "TLS is already active."})
		return
	case s.id != nil:
		s.fail(&Error{Text: "STARTTLS is not allowed after login."})
		return
	}
	s.ok("", "Begin TLS negotiation now.")
	if !s.flush() {
		s.quit = true
		return
	}
	if s.r.Buffered() > 0 {
		// Plaintext pipelined after STARTTLS could be an injection.
		s.r.Discard(s.r.Buffered())
	}
	if !s.handshake(tls.Server(s.conn, s.srv.TLSConfig)) {
		s.quit = true
		return
	}
	s.writeCapabilities()
	s.ok("", "TLS negotiation successful.")
}

// authError maps an Authenticator error to its response.
func authError(err error) *Error {
	switch {
	case errors.Is(err, authn.ErrPlaintextNotAllowed):
		return &Error{Code: CodeEncryptNeeded, Text: "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."}
	case errors.Is(err, authn.ErrTempFail):
		return &Error{Code: CodeTryLater, Text: "Temporary authentication failure."}
	case errors.Is(err, authn.ErrAborted):
		return &Error{Text: "Authentication aborted by client."}
	case errors.Is(err, authn.ErrMalformed):
		return &Error{Text: "Invalid AUTHENTICATE client response."}
	case errors.Is(err, authn.ErrUnsupportedMechanism):
		return &Error{Text: "Unsupported authentication mechanism."}
	default:
		return &Error{Text: "Authentication failed."}
	}
}

// cmdAuthenticate runs a SASL exchange (RFC 5804 section 2.1):
// AUTHENTICATE mechanism [initial-response]; challenges and responses
// are base64 in strings; "*" aborts.
func (s *session) cmdAuthenticate(c command) {
	if s.id != nil {
		s.fail(&Error{Text: "Already authenticated."})
		return
	}
	if len(c.args) < 1 || len(c.args) > 2 {
		s.fail(argError(c, "Invalid arguments."))
		return
	}
	for _, a := range c.args {
		if a.kind != argString {
			s.fail(argError(c, "Invalid arguments."))
			return
		}
	}
	a := s.srv.Authenticator
	if a == nil {
		s.fail(&Error{Text: "Authentication failed."})
		return
	}
	mech := upper(c.args[0].s)
	var resp []byte
	if len(c.args) == 2 {
		var err error
		if resp, err = base64.StdEncoding.DecodeString(c.args[1].s); err != nil {
			s.fail(&Error{Text: "Invalid base64 data in initial response"})
			return
		}
	}
	sess, err := a.NewSASL(s.ctx, mech, &s.info)
	if err != nil {
		s.fail(authError(err))
		return
	}
	lim := s.limits()
	lim.line = orDefault(s.srv.MaxAuthSize, DefaultMaxAuthSize) + 64
	for round := 0; ; round++ {
		challenge, done, err := sess.Next(s.ctx, resp)
		if err != nil {
			s.log.Info("managesieve: AUTHENTICATE failed", "mech", mech, "err", err)
			s.fail(authError(err))
			return
		}
		if done {
			s.login(sess.Identity(), challenge)
			return
		}
		if round >= maxSASLRounds {
			s.fail(&Error{Text: "Too many SASL rounds."})
			return
		}
		s.write(appendString(nil, base64.StdEncoding.EncodeToString(challenge)))
		s.write([]byte("\r\n"))
		if !s.flush() {
			s.quit = true
			return
		}
		s.setReadDeadline()
		args, err := readArgs(s.r, lim)
		if err != nil {
			s.reply(&Error{Bye: true, Text: "Invalid AUTHENTICATE client response."})
			return
		}
		if len(args) != 1 || args[0].kind != argString {
			s.fail(&Error{Text: "Invalid AUTHENTICATE client response."})
			return
		}
		if args[0].s == "*" {
			s.fail(&Error{Text: "Authentication aborted by client."})
			return
		}
		if resp, err = base64.StdEncoding.DecodeString(args[0].s); err != nil {
			s.fail(&Error{Text: "Invalid base64 data in continued response"})
			return
		}
	}
}

// login enters the authenticated state; final is SASL's additional
// data for the OK (SCRAM's server signature).
func (s *session) login(id *authn.Identity, final []byte) {
	if id == nil || id.User == "" {
		s.fail(&Error{Text: "Authentication failed."})
		return
	}
	if s.srv.Backend == nil {
		s.fail(&Error{Code: CodeTryLater, Text: "No script storage is configured."})
		return
	}
	sc, err := s.srv.Backend.Open(s.ctx, id)
	if err != nil {
		s.log.Warn("managesieve: opening script storage failed", "user", id.User, "err", err)
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeTryLater, Text: "Failed to open the script storage, try again later."}
		}
		s.fail(e)
		return
	}
	s.id, s.scripts = id, sc
	s.endPrelogin()
	s.log = s.log.With("user", id.User)
	s.log.Info("managesieve: login")
	if s.srv.ConnState != nil {
		s.srv.ConnState(s.raw, StateAuth)
	}
	code := ""
	if len(final) > 0 {
		code = CodeSASL + " " + string(appendString(nil, base64.StdEncoding.EncodeToString(final)))
	}
	s.ok(code, "Logged in.")
}

// cmdUnauthenticate returns to the unauthenticated state (RFC 5804
// section 2.14); TLS stays.
func (s *session) cmdUnauthenticate(c command) {
	if !s.noArgs(c) {
		return
	}
	if s.id == nil {
		s.fail(&Error{Text: "UNAUTHENTICATE is only allowed after login."})
		return
	}
	s.log.Info("managesieve: unauthenticate")
	s.id, s.scripts = nil, nil
	s.log = s.srv.logger().With("remote", s.info.RemoteAddr.String())
	s.cmds = 0
	s.loginBy = time.Now().Add(orDefault(s.srv.LoginTimeout, DefaultLoginTimeout))
	if s.srv.prelogin.Acquire(s.info.RemoteAddr, -1) {
		s.prelogin = true
	}
	s.ok("", "Unauthenticate completed.")
}
