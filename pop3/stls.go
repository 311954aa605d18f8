package pop3

import "crypto/tls"

// cmdSTLS starts TLS (RFC 2595 section 4). Anything the client sent after
// STLS before the handshake is discarded, and the session forgets a USER
// name given before.
func (s *session) cmdSTLS(c command) {
	if s.srv.TLSConfig == nil {
		s.fail(&Error{Text: "TLS is not available."})
		return
	}
	if s.info.TLS != nil {
		s.fail(&Error{Text: "TLS is already active."})
		return
	}
	s.okf("Begin TLS negotiation now.")
	if !s.flush() {
		s.quit = true
		return
	}
	if s.r.Buffered() > 0 {
		// Plaintext pipelined after STLS could be a command injection.
		s.r.Discard(s.r.Buffered())
	}
	s.user = ""
	if !s.handshake(tls.Server(s.conn, s.srv.TLSConfig)) {
		s.quit = true
	}
}
