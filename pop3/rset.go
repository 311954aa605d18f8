package pop3

// cmdRset unmarks every message marked deleted in this session.
func (s *session) cmdRset(c command) {
	s.drop.reset()
	s.okf("")
}
