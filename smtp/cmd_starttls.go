package smtp

import (
	"crypto/tls"
	"time"
)

// cmdStartTLS handles STARTTLS (RFC 3207). Anything the client pipelined
// after the command is discarded with the plaintext reader (the
// CVE-2011-0411 injection), and the session forgets HELO and AUTH state.
func (ss *session) cmdStartTLS(arg string) (ok, fatal bool) {
	cfg := ss.srv.serverTLS()
	switch {
	case cfg == nil:
		ss.reply(502, "5.5.1", "Error: command not implemented")
		return false, false
	case ss.info.TLS != nil:
		ss.reply(554, "5.5.1", "Error: TLS already active")
		return false, false
	case arg != "":
		ss.reply(501, "5.5.4", "Syntax: STARTTLS")
		return false, false
	}
	if ss.srv.Limiter != nil && ss.limited(ss.srv.Limiter.NewTLSSession, "New TLS session") {
		return false, true
	}
	ss.reply(220, "2.0.0", "Ready to start TLS")
	if err := ss.w.Flush(); err != nil {
		return false, true
	}
	tc := tls.Server(ss.dc.Conn, cfg)
	tc.SetDeadline(time.Now().Add(orDur(ss.srv.TLSHandshakeTimeout, 30*time.Second)))
	if err := tc.HandshakeContext(ss.ctx); err != nil {
		ss.srv.logger().Info("SSL_accept error from "+ss.clientStr+": "+err.Error(), "service", ss.info.Service)
		return false, true
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	ss.dc.Conn = tc
	ss.r.Reset(ss.dc) // drops anything pipelined after STARTTLS
	ss.w.Reset(ss.dc) // the same pooled writer, on the TLS connection
	ss.resetTransaction()
	ss.info.TLS = &st
	ss.info.Helo, ss.info.ESMTP = "", false
	ss.info.AuthUser, ss.info.AuthMechanism = "", ""
	return true, false
}
