package pop3

// cmdDele marks a message deleted (RFC 1939 section 5); it is removed
// only when the session ends with QUIT.
func (s *session) cmdDele(c command) {
	args := c.args()
	if len(args) != 1 {
		s.fail(&Error{Text: "DELE takes one message number."})
		return
	}
	m, _, err := s.drop.get(args[0])
	if err != nil {
		s.fail(err)
		return
	}
	s.drop.markDeleted(m)
	s.okf("Marked to be deleted.")
}
