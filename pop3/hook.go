package pop3

import "time"

// hookedCommand runs one command like command and reports it to
// Server.CommandHook: ok when it sent no -ERR and, unless it was QUIT,
// did not end the session (a RETR cut short, an AUTH exchange or STLS
// handshake that broke off).
func (s *session) hookedCommand(line []byte, err error) {
	start, errs := time.Now(), s.errReplies
	name := s.command(line, err)
	if _, known := commands[name]; !known {
		name = "UNKNOWN"
	}
	s.srv.CommandHook(name, s.errReplies == errs && (!s.quit || name == "QUIT"), time.Since(start))
}
