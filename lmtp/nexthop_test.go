package lmtp

import (
	"strings"
	"testing"
)

func TestParseNexthop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, network, addr, err string }{
		{"unix:/run/dovecot/lmtp", "unix", "/run/dovecot/lmtp", ""},
		{"unix:private/dovecot-lmtp", "unix", "/data/private/dovecot-lmtp", ""},
		{"inet:127.0.0.1:2424", "tcp", "127.0.0.1:2424", ""},
		{"inet:mail.example.jp", "tcp", "mail.example.jp:24", ""},
		{"[::1]:24", "tcp", "[::1]:24", ""},
		{"127.0.0.1:24", "tcp", "127.0.0.1:24", ""},
		{"unix:", "", "", "needs a socket path"},
		{"inet:", "", "", "needs a destination"},
		{"inet:host:99999", "", "", "want host:port"},
		{"::1:24", "", "", "IPv6"},
	} {
		n, a, err := ParseNexthop(tc.in, "/data")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("%q = %s %s %v, want %s %s", tc.in, n, a, err, tc.network, tc.addr)
		}
	}
}
