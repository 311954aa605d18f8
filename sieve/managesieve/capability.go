package managesieve

import (
	"strconv"
	"strings"
)

// writeCapabilities writes the capability lines (RFC 5804 section
// 1.7) in Pigeonhole's order: SASL and STARTTLS only before login,
// MAXREDIRECTS only after, as Pigeonhole does.
func (s *session) writeCapabilities() {
	var b []byte
	line := func(name, value string, withValue bool) {
		b = appendString(b, name)
		if withValue {
			b = append(b, ' ')
			b = appendString(b, value)
		}
		b = append(b, "\r\n"...)
	}
	impl := s.srv.Implementation
	if impl == "" {
		impl = DefaultImplementation
	}
	line("IMPLEMENTATION", impl, true)
	ext := s.srv.Extensions
	if ext == nil {
		ext = DefaultExtensions
	}
	line("SIEVE", strings.Join(ext, " "), true)
	if s.id != nil && s.srv.MaxRedirects >= 0 {
		line("MAXREDIRECTS", strconv.Itoa(orDefault(s.srv.MaxRedirects, DefaultMaxRedirects)), true)
	}
	notify := s.srv.NotifyMethods
	if notify == nil {
		notify = []string{"mailto"}
	}
	if len(notify) > 0 {
		line("NOTIFY", strings.Join(notify, " "), true)
	}
	if s.id == nil {
		var mechs []string
		if s.srv.Authenticator != nil {
			mechs = s.srv.Authenticator.Mechanisms(&s.info)
		}
		line("SASL", strings.Join(mechs, " "), true)
		if s.srv.TLSConfig != nil && s.info.TLS == nil {
			line("STARTTLS", "", false)
		}
	}
	line("UNAUTHENTICATE", "", false)
	line("VERSION", "1.0", true)
	s.write(b)
}

func (s *session) cmdCapability(c command) {
	if !s.noArgs(c) {
		return
	}
	s.writeCapabilities()
	s.ok("", "Capability completed.")
}
