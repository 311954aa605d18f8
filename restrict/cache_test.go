package restrict

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCachingResolver checks what NewCachingResolver keeps (answers and
// "not found"), what it does not (temporary failures), expiry after the
// TTL and the size bound, against a real DNS server.
func TestCachingResolver(t *testing.T) {
	d := newTestDNS(t)
	d.addMX("example.org", "mx.example.org")
	d.addA("mx.example.org", "192.0.2.25", "2001:db8::25")
	d.addTXT("example.org", "v=spf1 -all")
	d.fail("broken.example")
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewCachingResolver(d.resolver(), time.Minute, 4)
	c.clock.now = clock.now
	ctx := context.Background()

	lookups := []struct {
		qtype, name string
		do          func() error
	}{
		{"MX", "example.org.", func() error { _, err := c.LookupMX(ctx, "example.org."); return err }},
		{"A", "mx.example.org.", func() error { _, err := c.LookupNetIP(ctx, "ip4", "mx.example.org."); return err }},
		{"AAAA", "mx.example.org.", func() error { _, err := c.LookupNetIP(ctx, "ip6", "mx.example.org."); return err }},
		{"TXT", "example.org.", func() error { _, err := c.LookupTXT(ctx, "example.org."); return err }},
	}
	for _, l := range lookups {
		for i := 0; i < 3; i++ {
			if err := l.do(); err != nil {
				t.Fatalf("%s %s: %v", l.qtype, l.name, err)
			}
		}
		if n := d.askedFor(l.qtype, l.name); n != 1 {
			t.Errorf("%s %s: %d queries for 3 lookups, want 1", l.qtype, l.name, n)
		}
	}
	ips, err := c.LookupNetIP(ctx, "ip6", "mx.example.org.")
	if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("2001:db8::25") {
		t.Errorf("cached AAAA answer: %v %v", ips, err)
	}

	// "Not found" is an answer; a server failure is not: every lookup
	// asks the server again (net.Resolver may itself retry a SERVFAIL,
	// so the count per lookup depends on resolv.conf's attempts).
	asked := 0
	for i := 0; i < 2; i++ {
		if _, err := c.LookupMX(ctx, "nx.example."); classifyDNSErr(err) != dnsNotFound {
			t.Fatalf("nx.example: %v", err)
		}
		if _, err := c.LookupMX(ctx, "broken.example."); classifyDNSErr(err) != dnsRetry {
			t.Fatalf("broken.example: %v", err)
		}
		n := d.askedFor("MX", "broken.example.")
		if n <= asked {
			t.Errorf("SERVFAIL lookup %d sent no query: cached", i+1)
		}
		asked = n
	}
	if n := d.askedFor("MX", "nx.example."); n != 1 {
		t.Errorf("NXDOMAIN asked %d times, want 1 (cached)", n)
	}
	if c.n > c.max {
		t.Errorf("%d entries kept, max %d", c.n, c.max)
	}

	// After the TTL (the clock is read on every 16th lookup) the answer
	// is fetched again.
	clock.t = clock.t.Add(2 * time.Minute)
	for i := 0; i < 17; i++ {
		if _, err := c.LookupMX(ctx, "example.org."); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.askedFor("MX", "example.org."); n != 2 {
		t.Errorf("MX example.org after expiry: %d queries, want 2", n)
	}
}

// TestRBLCache checks the DNSBL cache of a restriction: one query per
// client and list while the answer lives, none kept for a temporary
// failure, and a new query after rblCacheTTL.
func TestRBLCache(t *testing.T) {
	d := newTestDNS(t)
	d.addA("66.2.0.192.bl.example", "127.0.0.2")
	d.addA("listed.example.dbl.example", "127.0.1.2")
	d.fail("77.2.0.192.bl.example")
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := New(Params{
		"mydestination":                "example.jp",
		"local_recipient_maps":         "",
		"smtpd_recipient_restrictions": "reject_unauth_destination, reject_rbl_client bl.example, reject_rhsbl_sender dbl.example",
	}, WithResolver(d.resolver()), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(client, sender string) Decision {
		t.Helper()
		dec, _ := p.Check(ctx, StageRecipient, rcptReq(client, "mx.example.org", sender, "user@example.jp"))
		return dec
	}
	for i := 0; i < 3; i++ {
		if dec := check("192.0.2.66", "a@example.org"); !strings.Contains(dec.Text, "blocked using bl.example") {
			t.Fatalf("listed client: %v", dec)
		}
		if dec := check("192.0.2.1", "a@listed.example"); !strings.Contains(dec.Text, "blocked using dbl.example") {
			t.Fatalf("listed sender domain: %v", dec)
		}
		before := d.askedFor("A", "77.2.0.192.bl.example")
		if dec := check("192.0.2.77", "a@example.org"); dec.Refused() {
			t.Fatalf("DNSBL failure: %v", dec)
		}
		if d.askedFor("A", "77.2.0.192.bl.example") == before {
			t.Errorf("evaluation %d: a temporary DNSBL failure was cached", i+1)
		}
	}
	for _, q := range []struct {
		name string
		want int
	}{
		{"66.2.0.192.bl.example", 1},
		{"1.2.0.192.bl.example", 1},       // NXDOMAIN, cached
		{"listed.example.dbl.example", 1}, // listed, cached
		{"example.org.dbl.example", 1},    // not listed, cached
	} {
		if n := d.askedFor("A", q.name); n != q.want {
			t.Errorf("A %s: %d queries, want %d", q.name, n, q.want)
		}
	}
	clock.t = clock.t.Add(rblCacheTTL + time.Second)
	for i := 0; i < 17; i++ { // the clock is read on every 16th evaluation
		check("192.0.2.66", "a@example.org")
	}
	if n := d.askedFor("A", "66.2.0.192.bl.example"); n != 2 {
		t.Errorf("after the TTL: %d queries, want 2", n)
	}

	var c rblCache
	for i := 0; i <= rblCacheMax; i++ {
		c.putName("d"+strconv.Itoa(i)+".example", nil, 0)
	}
	if len(c.names) > rblCacheMax {
		t.Errorf("rblCache holds %d names, max %d", len(c.names), rblCacheMax)
	}
}

// TestDomainClassCache checks that the cross-evaluation domain-class
// cache is used only when the class lists name no table, and that it
// changes no resolution.
func TestDomainClassCache(t *testing.T) {
	dir := t.TempDir()
	virtual := filepath.Join(dir, "virtual")
	if err := os.WriteFile(virtual, []byte("info@example.com user22@example.net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dests := filepath.Join(dir, "dests")
	if err := os.WriteFile(dests, []byte("www.miloweb.net OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withTables := seed004Params()
	withTables["virtual_alias_maps"] = "texthash:" + virtual // virtual_alias_domains = $virtual_alias_maps
	withDestTable := seed004Params()
	withDestTable["mydestination"] = "texthash:" + dests + ", localhost"
	withRelay := seed004Params()
	withRelay["relay_domains"] = "relay.example, .sub.relay.example"
	withRelay["virtual_mailbox_domains"] = "mbox.example"
	for _, c := range []struct {
		name       string
		params     Params
		wantStatic bool
	}{
		{"seed 001", mainCF(t, seed001MainCF, "SENDER_ACCESS", virtual), true},
		{"seed 004", seed004Params(), true},
		{"relay and virtual mailbox domains", withRelay, true},
		{"virtual_alias_maps table", withTables, false},
		{"mydestination table", withDestTable, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cached, err := New(c.params, WithResolver(noDNS{}))
			if err != nil {
				t.Fatal(err)
			}
			if cached.staticClasses != c.wantStatic {
				t.Fatalf("staticClasses = %v, want %v", cached.staticClasses, c.wantStatic)
			}
			plain, err := New(c.params, WithResolver(noDNS{}))
			if err != nil {
				t.Fatal(err)
			}
			plain.staticClasses = false
			addrs := append([]string{"user@zeke.ne.jp", "User@ACE.zeke.ne.jp", "a@example.org", "a@example.org.",
				"x@relay.example", "x@a.sub.relay.example", "x@mbox.example", "info@example.com", "user@",
				"user", "a@[127.0.0.1]", "a@[IPv6:::1]", "a@b..", "x@www.miloweb.net"}, relayTricks...)
			for round := 0; round < 2; round++ { // the second round hits the cache
				for _, a := range addrs {
					a = internalAddr(a)
					got, want := cached.resolveAddr(context.Background(), nil, a), plain.resolveAddr(context.Background(), nil, a)
					if got.fqdn != "" && got.fqdn != fqdn(got.domain) {
						t.Errorf("%q: fqdn %q for domain %q", a, got.fqdn, got.domain)
					}
					got.fqdn, want.fqdn = "", ""
					if got != want {
						t.Errorf("%q: cached %+v, uncached %+v", a, got, want)
					}
				}
			}
			if c.wantStatic && len(cached.domainClasses.m) == 0 {
				t.Error("the cache was not used")
			}
		})
	}
}
