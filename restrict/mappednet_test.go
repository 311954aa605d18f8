package restrict

import (
	"net/netip"
	"testing"
)

// TestParseNetworkV4Mapped: an IPv4-mapped IPv6 network, as Debian's
// postinst writes mynetworks ([::ffff:127.0.0.0]/104), is the IPv4
// network it maps; one that cuts into the ::ffff: prefix or has host
// bits set is refused, as before.
func TestParseNetworkV4Mapped(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{
		"[::ffff:127.0.0.0]/104": "127.0.0.0/8",
		"[::ffff:192.0.2.0]/120": "192.0.2.0/24",
		"[::ffff:192.0.2.1]/128": "192.0.2.1/32",
		"[::ffff:192.0.2.1]":     "192.0.2.1/32",
		"[::ffff:127.0.0.1]/104": "",
		"[::ffff:127.0.0.0]/64":  "",
		"[::ffff:127.0.0.0]/129": "",
		"[::1]/128":              "::1/128",
		"127.0.0.0/8":            "127.0.0.0/8",
	} {
		got, ok := parseNetwork(tok)
		switch {
		case want == "" && ok:
			t.Errorf("parseNetwork(%q) = %v, want refused", tok, got)
		case want != "" && (!ok || got != netip.MustParsePrefix(want)):
			t.Errorf("parseNetwork(%q) = %v, %v, want %s", tok, got, ok, want)
		}
	}
}
