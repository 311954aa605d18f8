package pop3

import (
	"strconv"
)

// cmdUIDL answers UIDL [msg] (RFC 1939 section 7) with the unique-ids
// UIDLFormat gives.
func (s *session) cmdUIDL(c command) {
	args := c.args()
	switch len(args) {
	case 0:
		s.writeString("+OK\r\n")
		var line []byte
		for i := range s.drop.msgs {
			m := &s.drop.msgs[i]
			if m.deleted {
				continue
			}
			line = strconv.AppendInt(line[:0], int64(i+1), 10)
			line = append(line, ' ')
			line = s.appendUIDL(line, m)
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
		s.writeString("+OK " + strconv.Itoa(n) + " " + s.uidlOf(m) + "\r\n")
	default:
		s.fail(&Error{Text: "UIDL takes at most one argument."})
	}
}

// appendUIDL appends m's unique-id to line.
func (s *session) appendUIDL(line []byte, m *message) []byte {
	if m.uidl != "" {
		return append(line, m.uidl...)
	}
	return s.srv.uidl.appendExpand(line, s.uidlVars(m))
}

func (s *session) uidlVars(m *message) uidlVars {
	return uidlVars{uid: m.uid, uidValidity: s.drop.uidValidity, fileName: m.fileName, guid: m.guid}
}

func (s *session) uidlOf(m *message) string {
	if m.uidl == "" {
		m.uidl = s.srv.uidl.expand(s.uidlVars(m))
	}
	return m.uidl
}
