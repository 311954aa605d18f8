package smtp

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/internal/smtpwire"
)

// MaxAuthLineLength bounds a SASL response line (RFC 4954 4 asks for at
// least 12288 octets).
const MaxAuthLineLength = 12288

func (ss *session) authConnInfo() *authn.ConnInfo {
	return &authn.ConnInfo{Service: ss.info.Service, LocalAddr: ss.info.LocalAddr, RemoteAddr: ss.info.RemoteAddr, TLS: ss.info.TLS}
}

// authEnabled reports whether AUTH may be used now.
func (ss *session) authEnabled() bool {
	return ss.srv.Authenticator != nil && !(ss.srv.TLSAuthOnly && ss.info.TLS == nil)
}

func (ss *session) authMechanisms() []string {
	if !ss.authEnabled() || ss.info.AuthUser != "" {
		return nil
	}
	return ss.srv.Authenticator.Mechanisms(ss.authConnInfo())
}

// cmdAuth handles AUTH (RFC 4954) through the Authenticator.
func (ss *session) cmdAuth(arg string) (ok, fatal bool) {
	switch {
	case !ss.authEnabled():
		ss.reply(503, "5.5.1", "Error: authentication not enabled")
		return false, false
	case ss.srv.TLSRequired && ss.info.TLS == nil:
		ss.reply(530, "5.7.0", "Must issue a STARTTLS command first")
		return false, false
	case ss.info.Helo == "":
		ss.reply(503, "5.5.1", "Error: send HELO/EHLO first")
		return false, false
	case ss.info.AuthUser != "":
		ss.reply(503, "5.5.1", "Error: already authenticated")
		return false, false
	case ss.from != nil:
		ss.reply(503, "5.5.1", "Error: MAIL transaction in progress")
		return false, false
	}
	if ss.srv.Limiter != nil && ss.limited(ss.srv.Limiter.Auth, "AUTH command") {
		return false, false
	}
	mech, ir, hasIR := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	if mech == "" {
		ss.reply(501, "5.5.4", "Syntax: AUTH mechanism")
		return false, false
	}
	ci := ss.authConnInfo()
	offered := false
	for _, m := range ss.srv.Authenticator.Mechanisms(ci) {
		offered = offered || strings.EqualFold(m, mech)
	}
	if !offered {
		ss.reply(535, "5.7.8", "Error: authentication failed: Invalid authentication mechanism")
		return false, false
	}
	sasl, err := ss.srv.Authenticator.NewSASL(ss.ctx, mech, ci)
	if err != nil {
		ss.authFailed(mech, err)
		return false, false
	}
	var resp []byte
	if hasIR {
		if ir == "=" {
			resp = []byte{}
		} else if resp, err = base64.StdEncoding.DecodeString(ir); err != nil {
			ss.reply(501, "5.5.2", "Error: invalid base64 data in initial response")
			return false, false
		}
	}
	for range 16 {
		chal, done, err := sasl.Next(ss.ctx, resp)
		if err != nil {
			ss.authFailed(mech, err)
			return false, false
		}
		if done {
			id := sasl.Identity()
			if id == nil || id.User == "" {
				ss.authFailed(mech, authn.ErrAuthFailed)
				return false, false
			}
			ss.info.AuthUser, ss.info.AuthMechanism = id.User, mech
			ss.reply(235, "2.7.0", "Authentication successful")
			ss.srv.connState(ss.conn, StateAuth)
			return true, false
		}
		ss.reply(334, "", base64.StdEncoding.EncodeToString(chal))
		if err := ss.w.Flush(); err != nil {
			return false, true
		}
		line, err := smtpwire.ReadLine(ss.r, MaxAuthLineLength)
		if err != nil {
			if err == smtpwire.ErrLineTooLong {
				ss.reply(500, "5.5.2", "Error: line too long")
				return false, false
			}
			ss.lost(err)
			return false, true
		}
		if string(line) == "*" {
			ss.authFailed(mech, authn.ErrAborted)
			return false, false
		}
		if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			ss.reply(501, "5.5.2", "Error: invalid base64 data")
			return false, false
		}
	}
	ss.authFailed(mech, authn.ErrAuthFailed)
	return false, false
}

// authFailed maps the auth package's errors to RFC 4954 replies.
func (ss *session) authFailed(mech string, err error) {
	switch {
	case errors.Is(err, authn.ErrAborted):
		ss.reply(501, "5.7.0", "Authentication aborted")
		return
	case errors.Is(err, authn.ErrPlaintextNotAllowed):
		ss.reply(538, "5.7.11", "Encryption required for requested authentication mechanism")
	case errors.Is(err, authn.ErrMalformed):
		ss.reply(501, "5.5.2", "Error: malformed authentication data")
	case errors.Is(err, authn.ErrUnsupportedMechanism):
		ss.reply(535, "5.7.8", "Error: authentication failed: Invalid authentication mechanism")
	case errors.Is(err, authn.ErrAuthFailed):
		ss.reply(535, "5.7.8", "Error: authentication failed: authentication failure")
	default:
		ss.reply(454, "4.7.0", "Temporary authentication failure")
	}
	ss.srv.logger().Warn("warning: "+ss.clientStr+": SASL "+mech+" authentication failed: "+authReason(err), "service", ss.info.Service)
}

func authReason(err error) string {
	switch {
	case errors.Is(err, authn.ErrAuthFailed):
		return "authentication failure"
	case errors.Is(err, authn.ErrPlaintextNotAllowed):
		return "plaintext not allowed"
	case errors.Is(err, authn.ErrTempFail):
		return "temporary failure"
	}
	return "(reason unavailable)"
}
