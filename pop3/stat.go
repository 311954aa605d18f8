package pop3

import "strconv"

// cmdStat answers STAT (RFC 1939 section 5): the number and total size of
// the messages not marked deleted. Arguments are ignored, as Dovecot
// does.
func (s *session) cmdStat(c command) {
	s.writeString("+OK " + strconv.Itoa(s.drop.count) + " " + strconv.FormatInt(s.drop.size, 10) + "\r\n")
}
