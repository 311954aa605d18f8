package queue

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestNSDMXOrder checks MX ordering against the real nsd: preference
// order, and equal preferences in random order (RFC 5321 5.1): over 60
// lookups each of e1, e2, e3 comes first at least once (the chance that
// one never does is 3*(2/3)^60, about 1e-10), and e4 (preference 20) is
// always last.
func TestNSDMXOrder(t *testing.T) {
	t.Parallel()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hosts, fail := tr.mxHosts(ctx, "multi.yubin.test")
	if fail != nil || strings.Join(hosts, " ") != "mx6.yubin.test mx4.yubin.test mx4b.yubin.test" {
		t.Fatalf("multi: %v %+v", hosts, fail)
	}
	first := map[string]int{}
	for i := 0; i < 60; i++ {
		hosts, fail := tr.mxHosts(ctx, "equal.yubin.test")
		if fail != nil || len(hosts) != 4 || hosts[3] != "e4.yubin.test" {
			t.Fatalf("equal: %v %+v", hosts, fail)
		}
		first[hosts[0]]++
	}
	if len(first) != 3 {
		t.Errorf("equal-preference MX hosts not shuffled: first counts %v", first)
	}
	// This host among the MX hosts: it and every MX of lower
	// preference are dropped; as the best MX, mail loops back.
	tr.Hostname = "mx4.yubin.test"
	hosts, _ = tr.mxHosts(ctx, "multi.yubin.test")
	if strings.Join(hosts, " ") != "mx6.yubin.test" {
		t.Errorf("MX list with myself: %v", hosts)
	}
	tr.Hostname = "mx6.yubin.test"
	_, fail = tr.mxHosts(ctx, "multi.yubin.test")
	if fail == nil || fail.Status != Bounced || fail.DSN != "5.4.6" || !strings.Contains(fail.Text, "loops back to myself") {
		t.Errorf("best MX is myself: %+v", fail)
	}
}

// TestNSDDestinationErrors delivers to names that fail in DNS, served by
// the real nsd: NXDOMAIN bounces, SERVFAIL (a zone nsd could not load)
// defers, a null MX bounces at once with 5.1.10, an MX host without
// address bounces; no connection is attempted.
func TestNSDDestinationErrors(t *testing.T) {
	t.Parallel()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t), Port: "1"}
	for _, tc := range []struct {
		nexthop string
		status  Status
		dsn     string
		text    string
	}{
		{"nosuch.yubin.test", Bounced, "5.4.4", "Host or domain name not found. Name service error for name=nosuch.yubin.test type=MX: Host not found"},
		{"broken.yubin.test", Deferred, "4.4.3", "Host or domain name not found. Name service error for name=broken.yubin.test type=MX: Host not found, try again"},
		{"nullmx.yubin.test", Bounced, "5.1.10", "Domain nullmx.yubin.test does not accept mail (nullMX)"},
		{"noaddr.yubin.test", Bounced, "5.4.4", "name=nowhere.yubin.test type=A: Host not found"},
		{"[nosuch.yubin.test]", Bounced, "5.4.4", "name=nosuch.yubin.test type=A: Host not found"},
		{"[host.broken.yubin.test]:587", Deferred, "4.4.3", "try again"},
		{"[unclosed.yubin.test", Deferred, "4.3.5", "bad nexthop syntax"},
	} {
		t.Run(tc.nexthop, func(t *testing.T) {
			rs := smtpDeliver(t, tr, newSMTPDelivery(tc.nexthop, smtpTestMessage, "x@"+strings.Trim(tc.nexthop, "[]"), "y@"+strings.Trim(tc.nexthop, "[]")))
			for _, r := range rs {
				wantSMTPStatus(t, r, tc.status, tc.dsn, tc.text)
				if r.Relay != "none" || r.Remote {
					t.Errorf("relay=%s remote=%v", r.Relay, r.Remote)
				}
			}
		})
	}
}

// TestNSDImplicitMXAndFallback delivers to smtp-sink through the real
// nsd: a domain with only an A record (implicit MX), an MX list whose
// best host is IPv6-only with nothing listening on [::1] (connection
// refused, then the next MX), and a domain with 1,000 MX records (the
// UDP answer is truncated; the resolver asks again over TCP).
func TestNSDImplicitMXAndFallback(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t), Port: smtpItoa(sink.Port), DisableConnectionCache: true}
	for _, tc := range []struct{ nexthop, relay string }{
		{"implicit.yubin.test", "implicit.yubin.test[127.0.0.1]"},
		{"multi.yubin.test", "mx4.yubin.test[127.0.0.1]"},
		{"big.yubin.test", "host0000.big.yubin.test[127.0.0.1]"},
	} {
		t.Run(tc.nexthop, func(t *testing.T) {
			rs := smtpDeliver(t, tr, newSMTPDelivery(tc.nexthop, smtpTestMessage, "x@"+tc.nexthop))
			wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250 2.0.0 Ok")
			if !strings.HasPrefix(rs[0].Relay, tc.relay) {
				t.Errorf("relay=%s, want %s", rs[0].Relay, tc.relay)
			}
		})
	}
	// The 1,000 MX records are cut to MXHostLimit before any address
	// lookup.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hosts, fail := tr.mxHosts(ctx, "big.yubin.test")
	if fail != nil || len(hosts) != DefaultMXHostLimit || hosts[0] != "host0000.big.yubin.test" {
		t.Errorf("big: %d hosts, first %v, %+v", len(hosts), hosts[:min(1, len(hosts))], fail)
	}
}

// TestNSDIPv6 delivers over IPv6 to smtp-sink on [::1] through an MX
// with only an AAAA record, and to the literal [ipv6:::1]; with
// Protocols "ipv4" the domain has no usable address.
func TestNSDIPv6(t *testing.T) {
	t.Parallel()
	sink := startSinkV6(t)
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t), Port: smtpItoa(sink.Port)}
	rs := smtpDeliver(t, tr, newSMTPDelivery("v6.yubin.test", smtpTestMessage, "x@v6.yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
	if rs[0].Relay != "mx6.yubin.test[::1]:"+smtpItoa(sink.Port) {
		t.Errorf("relay=%s", rs[0].Relay)
	}
	rs = smtpDeliver(t, tr, newSMTPDelivery("[ipv6:::1]:"+smtpItoa(sink.Port), smtpTestMessage, "x@v6.yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
	if rs[0].Relay != "::1[::1]:"+smtpItoa(sink.Port) {
		t.Errorf("relay=%s", rs[0].Relay)
	}
	tr4 := &SMTPTransport{Hostname: "client.yubin.test", Resolver: tr.Resolver, Port: smtpItoa(sink.Port), Protocols: "ipv4"}
	rs = smtpDeliver(t, tr4, newSMTPDelivery("v6.yubin.test", smtpTestMessage, "x@v6.yubin.test"))
	wantSMTPStatus(t, rs[0], Bounced, "5.4.4", "name=mx6.yubin.test type=A: Host not found")
}

// TestDNSTimeout: a DNS server that never answers (a UDP socket that
// reads and drops) makes the delivery wait only as long as its context
// allows, and defers it ("try again"), as Postfix does for timeouts.
func TestDNSTimeout(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: testutil.NewTestResolver(pc.LocalAddr().String())}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	rs := tr.Deliver(ctx, newSMTPDelivery("silent.yubin.test", smtpTestMessage, "a@silent.yubin.test"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	wantSMTPStatus(t, rs[0], Deferred, "4.4.3", "Name service error for name=silent.yubin.test type=MX: Host not found, try again")
}
