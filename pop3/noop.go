package pop3

// cmdNoop does nothing (RFC 1939 section 5).
func (s *session) cmdNoop(c command) {
	s.okf("")
}
