package pop3

import (
	"strconv"
)

// cmdList answers LIST [msg] (RFC 1939 section 5) with message sizes.
func (s *session) cmdList(c command) {
	args := c.args()
	switch len(args) {
	case 0:
		s.writeString("+OK " + strconv.Itoa(s.drop.count) + " messages:\r\n")
		var line []byte
		for i, m := range s.drop.msgs {
			if m.deleted {
				continue
			}
			line = strconv.AppendInt(line[:0], int64(i+1), 10)
			line = append(line, ' ')
			line = strconv.AppendInt(line, m.size, 10)
			line = append(line, '\r', '\n')
			if s.write(line) != nil {
				return
			}
		}
		s.writeString(".\r\n")
	case 1:
		m, n, err := s.drop.get(args[0])
		if err != nil {
			s.fail(err)
			return
		}
		s.writeString("+OK " + strconv.Itoa(n) + " " + strconv.FormatInt(m.size, 10) + "\r\n")
	default:
		s.fail(&Error{Text: "LIST takes at most one argument."})
	}
}
