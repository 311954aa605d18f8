package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Resolver is the DNS the SMTP transport asks for MX, A and AAAA
// records. *net.Resolver implements it; tests use one with PreferGo and
// a Dial func pointing at their own DNS server.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	// LookupNetIP looks up host's addresses; network is "ip4" (A) or
	// "ip6" (AAAA).
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// mxTarget is one address to try: the host name it was found under (the
// MX host, the [host] of the nexthop, or the address itself) and the
// address.
type mxTarget struct {
	host string
	addr netip.Addr
}

// mxFail is a failed destination lookup: the Result every recipient
// gets.
func mxFail(status Status, dsn, format string, args ...any) *Result {
	return &Result{Status: status, DSN: dsn, Text: fmt.Sprintf(format, args...), Relay: "none"}
}

// mxNotFound classifies a DNS error as Postfix's dns_lookup does: a
// name that does not exist is permanent ("Host not found"), anything
// else (SERVFAIL, timeouts, refused) temporary ("Host not found, try
// again").
func mxNotFound(err error) (notFound bool) {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func mxNameError(name, rtype string, err error) *Result {
	if mxNotFound(err) {
		return mxFail(Bounced, "5.4.4", "Host or domain name not found. Name service error for name=%s type=%s: Host not found", name, rtype)
	}
	return mxFail(Deferred, "4.4.3", "Host or domain name not found. Name service error for name=%s type=%s: Host not found, try again", name, rtype)
}

// mxHosts returns the MX host names of domain in the order they are
// tried: by preference, shuffled among equal preferences (RFC 5321
// 5.1), at most limit of them. It returns a nil list and no failure for
// a domain without MX records (implicit MX), and a Bounced result for a
// null MX (RFC 7505) or an MX list that points back to this host.
func (t *SMTPTransport) mxHosts(ctx context.Context, domain string) ([]string, *Result) {
	hosts, _, fail := t.mxHostsSelf(ctx, domain)
	return hosts, fail
}

// mxHostsSelf is mxHosts that also reports whether this host is among
// the MX hosts (it is then a backup MX: smtp_fallback_relay is not used).
func (t *SMTPTransport) mxHostsSelf(ctx context.Context, domain string) (hosts []string, iAmMX bool, fail *Result) {
	mxs, err := t.resolver().LookupMX(ctx, domain)
	if err != nil && len(mxs) == 0 {
		if mxNotFound(err) {
			// NXDOMAIN or no MX records: Go's resolver does not tell
			// them apart; the A/AAAA lookup of the implicit MX does.
			return nil, false, nil
		}
		return nil, false, mxNameError(domain, "MX", err)
	}
	for _, mx := range mxs {
		if mx != nil && (mx.Host == "." || mx.Host == "") {
			return nil, false, mxFail(Bounced, "5.1.10", "Domain %s does not accept mail (nullMX)", domain)
		}
	}
	// Sort and shuffle in place, then keep the first limit: the answer
	// is at most a DNS message (64 KiB), so this is bounded.
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	hosts = make([]string, 0, min(len(mxs), t.mxHostLimit()))
	me := strings.ToLower(strings.TrimSuffix(t.hostname(), "."))
	for _, mx := range mxs {
		if mx == nil {
			continue
		}
		h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
		if h == me {
			// RFC 5321 5.1: drop this host and every MX of equal or
			// lower preference.
			if len(hosts) == 0 {
				return nil, true, mxFail(Bounced, "5.4.6", "mail for %s loops back to myself", domain)
			}
			iAmMX = true
			break
		}
		if len(hosts) == cap(hosts) {
			break
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, iAmMX, nil
	}
	return hosts, iAmMX, nil
}

// hostAddrs looks up host's addresses of the families Protocols allows,
// ordered by AddressPreference.
func (t *SMTPTransport) hostAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	var nets []string
	switch t.protocols() {
	case "ipv4":
		nets = []string{"ip4"}
	case "ipv6":
		nets = []string{"ip6"}
	default:
		nets = []string{"ip6", "ip4"}
		if t.AddressPreference == "ipv4" {
			nets = []string{"ip4", "ip6"}
		}
	}
	var addrs []netip.Addr
	var firstErr error
	for _, n := range nets {
		as, err := t.resolver().LookupNetIP(ctx, n, host)
		if err != nil {
			// A missing AAAA is normal; remember the first error for
			// when no family has an address.
			if firstErr == nil || mxNotFound(firstErr) && !mxNotFound(err) {
				firstErr = err
			}
			continue
		}
		for _, a := range as {
			a = a.Unmap()
			if n == "ip4" && a.Is4() || n == "ip6" && a.Is6() {
				addrs = append(addrs, a)
			}
			if len(addrs) >= t.mxAddressLimit() {
				break
			}
		}
	}
	if len(addrs) == 0 {
		if firstErr == nil {
			firstErr = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return nil, firstErr
	}
	if t.AddressPreference == "" || t.AddressPreference == "any" {
		rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	}
	return addrs, nil
}

// targets resolves the nexthop into the addresses to try, at most
// smtp_mx_address_limit of them, or the Result for every recipient when
// there is none.
func (t *SMTPTransport) targets(ctx context.Context, nh smtpNexthop) ([]mxTarget, *Result) {
	out, _, fail := t.targetsSelf(ctx, nh)
	return out, fail
}

// targetsSelf is targets that also reports whether this host is one of
// the nexthop's MX hosts.
func (t *SMTPTransport) targetsSelf(ctx context.Context, nh smtpNexthop) (out []mxTarget, iAmMX bool, fail *Result) {
	if nh.ip.IsValid() {
		if !t.familyAllowed(nh.ip) {
			return nil, false, mxFail(Deferred, "4.4.4", "unable to look up host %s: address family not enabled by inet_protocols", nh.host)
		}
		return []mxTarget{{host: nh.host, addr: nh.ip}}, false, nil
	}
	hosts := []string{nh.host}
	rtype := "A"
	if nh.mx {
		mxs, me, fail := t.mxHostsSelf(ctx, nh.host)
		if fail != nil {
			return nil, me, fail
		}
		iAmMX = me
		if mxs != nil {
			hosts = mxs
		} else {
			rtype = "MX" // implicit MX: report the MX lookup, as Postfix does
		}
	}
	limit := t.mxAddressLimit()
	for _, h := range hosts {
		if len(out) >= limit {
			break
		}
		addrs, err := t.hostAddrs(ctx, h)
		if err != nil {
			r := mxNameError(h, rtype, err)
			if rtype == "MX" {
				r = mxNameError(nh.host, "MX", err)
			}
			if fail == nil || fail.Status == Bounced && r.Status == Deferred {
				fail = r
			}
			continue
		}
		for _, a := range addrs {
			if len(out) >= limit {
				break
			}
			out = append(out, mxTarget{host: h, addr: a})
		}
	}
	if len(out) == 0 {
		return nil, iAmMX, fail
	}
	return out, iAmMX, nil
}

func (t *SMTPTransport) familyAllowed(a netip.Addr) bool {
	switch t.protocols() {
	case "ipv4":
		return a.Is4()
	case "ipv6":
		return a.Is6()
	}
	return true
}
