package restrict

import (
	"net/netip"
	"strings"
	"testing"
)

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
		{"a-b.example", true, false},
		{"a.-", false, false},
		{"a.b-", false, false},
		{"x-1.2", true, false},
		{"_", true, false},
		{"1.2.3.4a", true, false},
		{"host name", false, false},
		{"h\xc3\xa9.example", false, false},
		{"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.0.1.2.3.4.5.6.7.8.9", true, false},
		{strings.Repeat("a", 63) + ".jp", true, false},
		{strings.Repeat("a", 64) + ".jp", false, false},
		{strings.Repeat("a.", 127) + "a", true, false},
		{strings.Repeat("a.", 128), false, false},
	} {
		if got := validHostname(c.s); got != c.host {
			t.Errorf("validHostname(%q) = %v", c.s, got)
		}
		if got := validHostaddr(c.s); got != c.addr {
			t.Errorf("validHostaddr(%q) = %v", c.s, got)
		}
	}
}

func TestDNSBLQueryNames(t *testing.T) {
	if got := reverseAddr(netip.MustParseAddr("192.0.2.66")); got != "66.2.0.192" {
		t.Errorf("v4: %s", got)
	}
	if got := reverseAddr(netip.MustParseAddr("2001:db8::1")); got != "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2" {
		t.Errorf("v6: %s", got)
	}
	m, err := parseIPMatch("127.0.[1;3].[2..11]")
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"127.0.1.2": true, "127.0.3.11": true, "127.0.2.5": false, "127.0.1.12": false, "::1": false} {
		if m.match(netip.MustParseAddr(a)) != want {
			t.Errorf("%s: want %v", a, want)
		}
	}
}

func TestToLower(t *testing.T) {
	for _, s := range []string{"", "a@example.org", "A@Example.ORG", "ZZ", "@[", "`{", "\xc3\x89T\xc3\xa9", "K\u212a", "a\x80", "\xff"} {
		if got, want := toLower(s), strings.ToLower(s); got != want {
			t.Errorf("toLower(%q) = %q, want %q", s, got, want)
		}
	}
}
