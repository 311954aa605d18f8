package auth

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
)

// TestFormatUserMatchesExpand: the username format, parsed once and
// looking variables up lazily, gives what Expand over connVars gives,
// for every variable a connection has, with and without a connection.
func TestFormatUserMatchesExpand(t *testing.T) {
	conns := []*ConnInfo{nil, {}, {Service: "imap",
		RemoteAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000},
		LocalAddr:  &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 143}},
		{Service: "smtp", TLS: &tls.ConnectionState{}, RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}},
	}
	formats := []string{"", "%Lu", "%u", "%Ln", "%Uu", "%n@%{service}", "%{rip}|%{lip}|%{rport}|%{lport}|%{secured}|%s|%r|%l|%a|%b|%c",
		"%Ld", "%1.3Lu", "%-3u", "%08Xu", "%{home}x%{username}", "plain", "%%%Lu", "%Mu"}
	for _, c := range conns {
		for _, f := range formats {
			for _, u := range []string{"Alice@Example.ORG", "bob", ""} {
				s := &Service{UsernameFormat: f}
				got, err := s.formatUser(c, u)
				want, werr := Expand(orDefault(f, DefaultUsernameFormat), connVars(c, u), nil)
				if got != want || (err == nil) != (werr == nil) {
					t.Errorf("conn %+v format %q user %q: %q, %v; Expand gives %q, %v", c, f, u, got, err, want, werr)
				}
			}
		}
	}
	s := &Service{UsernameFormat: "%{nosuch}"}
	if _, err := s.formatUser(nil, "x"); !errors.Is(err, ErrBadTemplate) {
		t.Errorf("unknown variable: %v", err)
	}
	s.UsernameFormat = "%Uu" // changed after use: parsed again
	if got, _ := s.formatUser(nil, "x"); got != "X" {
		t.Errorf("after a change: %q", got)
	}
}

// TestParseTemplate: a parsed template expands as Expand does, and a
// bad one is refused when parsed.
func TestParseTemplate(t *testing.T) {
	v := Vars{"user": "a@b.c", "service": "pop3"}
	for _, s := range []string{"", "x", "%%", "(uid=%n)", "cn=%u,%Dd", "%s-%{service}"} {
		tm, err := ParseTemplate(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		got, err := tm.Expand(v, nil)
		want, _ := Expand(s, v, nil)
		if err != nil || got != want || tm.String() != s {
			t.Errorf("%q: %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"%", "%{user", "%q"} {
		if _, err := ParseTemplate(s); !errors.Is(err, ErrBadTemplate) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
