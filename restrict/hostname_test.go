package restrict

import "testing"

func TestHostnameSyntax(t *testing.T) {
	for _, c := range []struct {
		s          string
		host, addr bool
	}{
		{"mail.example.jp", true, false},
		{"a_b.example", true, false},
		{"-bad.example", false, false},
		{"bad-.example", false, false},
		{"bad..example", false, false},
		{"1.2.3.4", false, true},
		{"1.2.3", false, false},
		{"1.2.3.256", false, false},
		{"01.2.3.4", false, true},
		{"1234.2.3.4", false, false},
		{"123", false, false},
		{"2001:db8::1", false, true},
		{"localhost", true, false},
		{"", false, false},
		{"host.example.", false, false},
	} {
		if got := validHostname(c.s); got != c.host {
			t.Errorf("validHostname(%q) = %v", c.s, got)
		}
		if got := validHostaddr(c.s); got != c.addr {
			t.Errorf("validHostaddr(%q) = %v", c.s, got)
		}
	}
}
