package pop3

// cmdUser takes the user name for PASS (RFC 1939 section 7). Plaintext
// logins are refused before TLS unless the Authenticator allows them.
func (s *session) cmdUser(c command) {
	if s.srv.Authenticator == nil {
		s.fail(errNoAuth)
		return
	}
	if !s.plaintextAllowed() {
		s.fail(errPlaintext)
		return
	}
	if c.arg == "" {
		s.fail(&Error{Text: "USER needs a user name."})
		return
	}
	s.user = c.arg
	s.okf("")
}

// cmdPass checks the password for the USER name through the
// Authenticator. The whole rest of the line is the password.
func (s *session) cmdPass(c command) {
	if s.user == "" {
		s.fail(&Error{Text: "No user name given (send USER first)."})
		return
	}
	user := s.user
	s.user = ""
	if !s.plaintextAllowed() {
		s.fail(errPlaintext)
		return
	}
	id, err := s.srv.Authenticator.Login(s.ctx, &s.info, user, c.arg)
	if err != nil {
		s.log.Info("pop3: login failed", "user", user, "err", err)
		s.fail(authError(err))
		return
	}
	s.login(id)
}
