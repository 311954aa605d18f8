package pop3

import (
	"strconv"
	"strings"
	"time"
)

// cmdCapa answers CAPA (RFC 2449 section 5) with what is usable in the
// current state on this connection.
func (s *session) cmdCapa(c command) {
	var b strings.Builder
	b.WriteString("+OK Capability list follows\r\n")
	for _, l := range s.capabilities() {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	s.writeString(b.String())
}

func (s *session) capabilities() []string {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}
	if s.state == stateAuthorization {
		if s.srv.TLSConfig != nil && s.info.TLS == nil {
			caps = append(caps, "STLS")
		}
		if s.plaintextAllowed() {
			caps = append(caps, "USER")
		}
		if s.srv.Authenticator != nil {
			if mechs := s.srv.Authenticator.Mechanisms(&s.info); len(mechs) > 0 {
				caps = append(caps, "SASL "+strings.Join(mechs, " "))
			}
		}
	}
	if d := s.srv.LoginDelay; d > 0 {
		caps = append(caps, "LOGIN-DELAY "+strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	switch d := s.srv.Expire; {
	case d == ExpireNever:
		caps = append(caps, "EXPIRE NEVER")
	case d > 0:
		day := 24 * time.Hour
		caps = append(caps, "EXPIRE "+strconv.FormatInt(int64((d+day-1)/day), 10))
	}
	caps = append(caps, "IMPLEMENTATION yubin")
	return caps
}
