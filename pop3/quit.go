package pop3

import "github.com/yubinmail/yubin/store"

// cmdQuit ends the session. In the TRANSACTION state it is RFC 1939's
// UPDATE state: the messages marked with DELE are removed (flagged
// \Deleted and expunged through the store, so IMAP sessions on the same
// mailbox see them go) and \Seen is stored for retrieved messages.
func (s *session) cmdQuit(c command) {
	s.quit = true
	s.endReason("Logged out")
	if s.state != stateTransaction {
		s.okf("Logging out")
		return
	}
	s.storeSeen()
	del := s.drop.deletedSet()
	if len(del) == 0 {
		s.okf("Logging out.")
		return
	}
	if _, _, err := s.mbox.SetFlags(s.ctx, del, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		s.log.Warn("pop3: marking messages deleted failed", "user", s.identity.User, "err", err)
		s.reply(&Error{Code: CodeSysTemp, Text: "Couldn't delete the messages, try again later."})
		return
	}
	gone, err := s.mbox.Expunge(s.ctx, del)
	if err != nil {
		s.log.Warn("pop3: expunge failed", "user", s.identity.User, "err", err)
		s.reply(&Error{Code: CodeSysTemp, Text: "Couldn't delete all messages, try again later."})
		return
	}
	s.lo.l.Deleted = len(gone)
	s.log.Info("pop3: logout", "user", s.identity.User, "deleted", len(gone))
	s.okf("Logging out, messages deleted.")
}

// storeSeen sets \Seen on the messages RETR returned (unless
// NoFlagUpdates), in one store call at the end of the session.
func (s *session) storeSeen() {
	if s.srv.NoFlagUpdates || s.drop == nil || s.mbox == nil {
		return
	}
	seen := s.drop.seenSet()
	if len(seen) == 0 {
		return
	}
	if _, _, err := s.mbox.SetFlags(s.ctx, seen, store.FlagsAdd, store.Flags{System: store.Seen}, 0); err != nil {
		s.log.Warn("pop3: storing \\Seen failed", "err", err)
	}
	s.drop.clearSeen()
}
