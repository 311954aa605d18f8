package imap

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
)

// STARTTLS (RFC 9051 6.2.1, RFC 2595).
func (c *conn) cmdStartTLS(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	if c.srv.TLSConfig == nil || c.info.TLS != nil {
		return &Error{Kind: KindBAD, Text: "TLS is already active or not available."}
	}
	if c.r.br.Buffered() > 0 {
		// Data pipelined after STARTTLS would be read as if protected.
		return &Error{Kind: KindBYE, Text: "Unexpected data after STARTTLS."}
	}
	c.tagged(tag, "OK", "", "Begin TLS negotiation now.")
	if err := c.w.flush(); err != nil {
		return err
	}
	tc := tls.Server(c.nc, c.srv.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), durOr(c.srv.LoginTimeout, DefaultLoginTimeout))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.Debug("imap: STARTTLS handshake failed", "err", err)
		return net.ErrClosed
	}
	st := tc.ConnectionState()
	c.info.TLS = &st
	c.nc = tc
	c.w.reset(deadlineWriter{c: tc, timeout: durOr(c.srv.WriteTimeout, DefaultWriteTimeout)})
	c.r.reset(tc)
	return errAlreadyAnswered
}

// LOGIN (RFC 9051 6.2.3).
func (c *conn) cmdLogin(tag string, _ bool) error {
	var user, pass string
	err := c.r.sp()
	if err == nil {
		user, err = c.r.astring()
	}
	if err == nil {
		err = c.r.sp()
	}
	if err == nil {
		pass, err = c.r.astring()
	}
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	if !c.plaintextAllowed() {
		return no("PRIVACYREQUIRED", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
	}
	if c.srv.Authenticator == nil {
		return no("AUTHENTICATIONFAILED", "Authentication failed.")
	}
	id, err := c.srv.Authenticator.Login(c.ctx(), &c.info, user, pass)
	if err != nil {
		return c.authError(err)
	}
	return c.loggedIn(id)
}

// AUTHENTICATE (RFC 9051 6.2.2) with SASL-IR (RFC 4959).
func (c *conn) cmdAuthenticate(tag string, _ bool) error {
	err := c.r.sp()
	var mech string
	if err == nil {
		mech, err = c.r.atom()
	}
	if err != nil {
		return err
	}
	mech = strings.ToUpper(mech)
	var initial []byte
	hasInitial := false
	if sp, err := c.r.maybe(' '); err != nil {
		return err
	} else if sp {
		s, err := c.r.atomFunc(func(b byte) bool { return isAtomChar(b) || b == '=' }, "initial response")
		if err != nil {
			return err
		}
		hasInitial = true
		if s != "=" {
			if initial, err = base64.StdEncoding.DecodeString(s); err != nil {
				return badf("Invalid base64 in initial response.")
			}
		} else {
			initial = []byte{}
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	a := c.srv.Authenticator
	if a == nil {
		return no("AUTHENTICATIONFAILED", "Authentication failed.")
	}
	sess, err := a.NewSASL(c.ctx(), mech, &c.info)
	if err != nil {
		if errors.Is(err, authn.ErrUnsupportedMechanism) {
			return no("", "Unsupported authentication mechanism.")
		}
		return c.authError(err)
	}
	resp := initial
	if !hasInitial {
		resp = nil
	}
	for i := 0; ; i++ {
		if i > 20 {
			return &Error{Kind: KindBAD, Text: "Too many SASL round trips."}
		}
		chal, done, err := sess.Next(c.ctx(), resp)
		if err != nil {
			return c.authError(err)
		}
		if done {
			return c.loggedIn(sess.Identity())
		}
		c.w.str("+ " + base64.StdEncoding.EncodeToString(chal) + "\r\n")
		if err := c.w.flush(); err != nil {
			return err
		}
		c.r.startLine()
		line, err := c.r.atomFunc(func(b byte) bool { return b != '\r' && b != '\n' }, "response")
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				return err
			}
			line = ""
		}
		if err := c.r.crlf(); err != nil {
			return err
		}
		if line == "*" {
			return &Error{Kind: KindBAD, Text: "Authentication aborted by client."}
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			return &Error{Kind: KindBAD, Text: "Invalid base64 data in continued response."}
		}
	}
}

// authError maps an Authenticator error to the answer Dovecot gives.
func (c *conn) authError(err error) error {
	switch {
	case errors.Is(err, authn.ErrPlaintextNotAllowed):
		return no("PRIVACYREQUIRED", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
	case errors.Is(err, authn.ErrTempFail):
		return no("UNAVAILABLE", "Temporary authentication failure.")
	case errors.Is(err, authn.ErrAborted):
		return &Error{Kind: KindBAD, Text: "Authentication aborted by client."}
	case errors.Is(err, authn.ErrUnsupportedMechanism):
		return no("", "Unsupported authentication mechanism.")
	}
	if reason := alertReason(err); reason != "" {
		// Dovecot's imap-login answers a passdb failure that carries a
		// reason this way (CLIENT_AUTH_RESULT_AUTHFAILED_REASON).
		return no("ALERT", reason)
	}
	if !errors.Is(err, authn.ErrAuthFailed) {
		c.log.Warn("imap: authentication error", "err", err)
	}
	return no("AUTHENTICATIONFAILED", "Authentication failed.")
}

// loggedIn opens the user's store and enters the authenticated state.
func (c *conn) loggedIn(id *authn.Identity) error {
	if id == nil || id.User == "" {
		return no("AUTHENTICATIONFAILED", "Authentication failed.")
	}
	key := id.User + "\x00" + remoteIP(c.info.RemoteAddr)
	if !c.srv.acquireUserIP(key) {
		limit := c.srv.MaxUserIPConnections
		if limit == 0 {
			limit = DefaultMaxUserIPConnections
		}
		c.log.Info("imap: login refused: maximum number of connections from user+IP exceeded", "user", id.User, "rip", remoteIP(c.info.RemoteAddr), "mail_max_userip_connections", limit)
		return no("LIMIT", "Maximum number of connections from user+IP exceeded (mail_max_userip_connections="+strconv.Itoa(limit)+").")
	}
	if c.srv.Backend == nil {
		c.srv.releaseUserIP(key)
		return no("UNAVAILABLE", "No mail store is configured.")
	}
	ctx, cancel := context.WithTimeout(c.ctx(), time.Minute)
	st, err := c.srv.Backend.Open(ctx, id.User)
	cancel()
	if err != nil {
		c.srv.releaseUserIP(key)
		c.log.Error("imap: opening the store failed", "user", id.User, "err", err)
		return no("UNAVAILABLE", "Internal error: mail store unavailable.")
	}
	c.userIPKey = key
	c.endPrelogin()
	c.user, c.st, c.state = id.User, c.srv.withShared(id.User, st), stateAuth
	c.startLogoutCounts()
	c.mu.Lock()
	c.alertUser = id.User
	c.mu.Unlock()
	c.loginAlerts(id.User)
	c.log = c.log.With("user", id.User)
	c.okCode = "CAPABILITY " + strings.Join(c.capabilities(), " ")
	c.okText = "Logged in"
	return nil
}

func remoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}
