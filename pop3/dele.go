package pop3

// cmdDele marks a message deleted (RFC 1939 section 5); it is removed
// only when the session ends with QUIT.
func (s *session) cmdDele(c command) {
	arg, ok := c.oneArg()
	if !ok {
		s.fail(&Error{Text: "DELE takes one message number."})
		return
	}
	m, _, err := s.drop.get(arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.drop.markDeleted(m)
	s.okf("Marked to be deleted.")
}
