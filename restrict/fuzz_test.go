package restrict

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// FuzzRestrictionList feeds arbitrary restriction lists to New and
// evaluates whatever compiles: errors are fine, panics are not.
func FuzzRestrictionList(f *testing.F) {
	f.Add("permit_mynetworks, reject_unauth_destination")
	f.Add(seed001MainCF)
	f.Add("check_sender_access inline:{ a=OK, { b = REJECT x } }, reject_unauth_destination, warn_if_reject reject")
	f.Add("reject_rbl_client zen.spamhaus.org=127.0.0.[2..11] reject_unauth_destination")
	f.Add("{ inline:{a=b} } }{ defer_if_permit")
	f.Fuzz(func(t *testing.T, list string) {
		p, err := New(Params{
			"smtpd_recipient_restrictions": list,
			"smtpd_relay_restrictions":     "",
			"smtpd_restriction_classes":    "cls",
			"cls":                          "reject_non_fqdn_sender",
			"local_recipient_maps":         "",
		}, WithResolver(noDNS{}))
		if err != nil {
			return
		}
		req := rcptReq("192.0.2.1", "helo.example", "a@example.org", "b@example.net")
		for _, st := range []Stage{StageConnect, StageHelo, StageSender, StageRecipient, StageData, StageEndOfData} {
			d, _ := p.Check(context.Background(), st, req)
			if d.Refused() && (d.Code < 400 || d.Code > 599 || !validDSN(d.Enhanced) || d.Enhanced[0] != byte('0'+d.Code/100)) {
				t.Fatalf("bad reply %q", d)
			}
		}
	})
}

// FuzzAddress checks the relay decision for arbitrary recipient
// addresses: whatever is accepted from an outside client must resolve to
// a local, unrouted address.
func FuzzAddress(f *testing.F) {
	for _, a := range relayTricks {
		f.Add(a)
	}
	f.Add("user@www.miloweb.net")
	f.Add(`"a\"b"@[203.0.113.1]`)
	p, err := New(seed004Params(), WithResolver(noDNS{}))
	if err != nil {
		f.Fatal(err)
	}
	// The same policy without the domain-class cache resolves alike.
	plain, err := New(seed004Params(), WithResolver(noDNS{}))
	if err != nil {
		f.Fatal(err)
	}
	plain.staticClasses = false
	f.Fuzz(func(t *testing.T, rcpt string) {
		a := internalAddr(rcpt)
		cached, uncached := p.resolveAddr(context.Background(), nil, a), plain.resolveAddr(context.Background(), nil, a)
		if cached.fqdn != "" && cached.fqdn != fqdn(cached.domain) {
			t.Fatalf("%q: fqdn %q for domain %q", rcpt, cached.fqdn, cached.domain)
		}
		cached.fqdn = ""
		if cached != uncached {
			t.Fatalf("%q: cached %+v, uncached %+v", rcpt, cached, uncached)
		}
		d, err := p.Check(context.Background(), StageRecipient, rcptReq("198.51.100.99", "x.example", "a@example.org", rcpt))
		if err != nil || d.Refused() {
			return
		}
		if strings.EqualFold(rcpt, "postmaster") {
			return
		}
		r := p.resolveAddr(context.Background(), nil, internalAddr(rcpt))
		if r.class != ClassLocal || r.routed {
			t.Fatalf("relay: %q accepted, resolves to %+v", rcpt, r)
		}
		for i := 0; i < len(rcpt); i++ {
			if rcpt[i] < 0x20 || rcpt[i] == 0x7f {
				t.Fatalf("address with control bytes accepted: %q", rcpt)
			}
		}
	})
}

// FuzzExpand exercises $name expansion.
func FuzzExpand(f *testing.F) {
	f.Add("$myhostname, localhost.$mydomain ${a?{x}:{y}} $(b) $$ ${c:d}")
	f.Add("${a?${b?${c}}}")
	f.Fuzz(func(t *testing.T, s string) {
		p := Params{"a": s, "b": "$a", "c": "${a:$b}"}
		p.Expand(s)
		p.Get("c")
	})
}

// noDNS answers "not found" to everything without a network.
type noDNS struct{}

func (noDNS) LookupMX(context.Context, string) ([]*netMX, error) { return nil, notFound() }
func (noDNS) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, notFound()
}
func (noDNS) LookupTXT(context.Context, string) ([]string, error) { return nil, notFound() }

// listAll is a DNS where every name is listed (127.0.1.2): an RHSBL
// lists whatever it is asked about.
type listAll struct{ noDNS }

func (listAll) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.1.2")}, nil
}

// FuzzRHSBL feeds HELO names and senders to reject_rhsbl_helo and
// reject_rhsbl_sender: a name is refused exactly when rhsblDomain accepts
// it (the DNS lists everything), the same on the first evaluation (a
// cache miss) and the second (a cache hit, which skips the name checks).
func FuzzRHSBL(f *testing.F) {
	f.Add("mx.example.org", "a@example.org")
	f.Add("[192.0.2.1]", "a@[192.0.2.1]")
	f.Add("1.2.3.4", "a@1.2.3.4")
	f.Add("bad_host!", "a@-bad.example")
	f.Add("", "a@")
	f.Add("example.", "@example.org")
	p, err := New(Params{
		"smtpd_recipient_restrictions": "reject_unauth_destination, reject_rhsbl_helo dbl.example, reject_rhsbl_sender dbl.example",
		"mydestination":                "example.jp",
		"local_recipient_maps":         "",
	}, WithResolver(listAll{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, helo, sender string) {
		req := rcptReq("198.51.100.1", helo, sender, "user@example.jp")
		want := "DUNNO"
		switch {
		case helo != "" && rhsblDomain(helo) != "":
			want = "Helo command"
		case rhsblDomain(internalAddr(sender)) != "":
			want = "Sender address"
		}
		for i := 0; i < 2; i++ {
			d, err := p.Check(context.Background(), StageRecipient, req)
			if err != nil {
				t.Fatal(err)
			}
			got := "DUNNO"
			if d.Refused() {
				got, _, _ = strings.Cut(strings.TrimPrefix(d.Text, "Service unavailable; "), " [")
			}
			if got != want {
				t.Fatalf("helo %q sender %q, evaluation %d: %q, want %q (%v)", helo, sender, i+1, got, want, d)
			}
		}
	})
}
