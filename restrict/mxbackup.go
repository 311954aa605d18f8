package restrict

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// permitMXBackup is Postfix 3.7's permit_mx_backup (smtpd_check.c):
// permit a recipient whose domain is local, virtual or a relay domain
// (as permit_auth_destination, but see below), or whose domain lists this
// host ($myhostname, or an address of $inet_interfaces/$proxy_interfaces)
// as a backup MX but not as a primary one. With
// permit_mx_backup_networks set, every primary MX host's addresses must
// also be in those networks. Routed addresses are not permitted (unless
// allow_untrusted_routing); an MX lookup failure turns a later rejection
// into "450 4.4.4 ... Unable to look up mail exchanger information".
func (s *state) permitMXBackup(rcpt string) status {
	p := s.p
	r := p.resolveAddr(s.ctx, s, rcpt)
	if r.routed && !p.cfg.allowUntrusted {
		return stDunno
	}
	if r.class != ClassDefault {
		return stOK
	}
	domain := r.domain
	if domain == "" || strings.HasPrefix(domain, "[") {
		return stDunno
	}
	mxs, err := p.resolver.LookupMX(s.ctx, fqdn(domain))
	switch classifyDNSErr(err) {
	case dnsRetry:
		deferIf(&s.deferIfReject, 450, "4.4.4", "<%s>: %s rejected: Unable to look up mail exchanger information", rcpt, nameRecipient)
		return stDunno
	case dnsNotFound:
		return stDunno
	}
	if len(mxs) == 0 {
		return stDunno
	}
	sorted := slices.Clone(mxs)
	slices.SortStableFunc(sorted, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	n := 1
	for n < len(sorted) && sorted[n].Pref == sorted[0].Pref {
		n++
	}
	primary, backup := sorted[:n], sorted[n:]
	if s.iAmMX(primary, rcpt) || len(backup) == 0 || !s.iAmMX(backup, rcpt) {
		return stDunno
	}
	if p.mxBackupNetworks != nil && len(p.mxBackupNetworks.entries) > 0 {
		for _, mx := range primary {
			host := strings.TrimSuffix(mx.Host, ".")
			addrs, ok := s.mxAddrs(host, rcpt)
			if !ok {
				return stDunno
			}
			for _, a := range addrs {
				if !p.mxBackupNetworks.matchHost(s.ctx, s, "", a) {
					return stDunno
				}
			}
		}
	}
	return stOK
}

// iAmMX reports whether one of the MX hosts is this host: by name
// ($myhostname) first, then by address.
func (s *state) iAmMX(mxs []*net.MX, rcpt string) bool {
	me := strings.TrimSuffix(s.p.get("myhostname"), ".")
	for _, mx := range mxs {
		if strings.EqualFold(strings.TrimSuffix(mx.Host, "."), me) {
			return true
		}
	}
	for _, mx := range mxs {
		addrs, _ := s.mxAddrs(strings.TrimSuffix(mx.Host, "."), rcpt)
		for _, a := range addrs {
			if s.p.ownAddrs[strings.ToLower(a.Unmap().WithZone("").String())] {
				return true
			}
		}
	}
	return false
}

// mxAddrs looks up an MX host's addresses; a failure is remembered as a
// defer_if_reject reason, as has_my_addr does.
func (s *state) mxAddrs(host, rcpt string) ([]netip.Addr, bool) {
	if host == "" {
		return nil, false
	}
	addrs, err := s.p.resolver.LookupNetIP(s.ctx, "ip", fqdn(host))
	if err != nil || len(addrs) == 0 {
		deferIf(&s.deferIfReject, 450, "4.4.4", "<%s>: %s rejected: Unable to look up host %s as mail exchanger", rcpt, nameRecipient, printable(host))
		return nil, false
	}
	return addrs, true
}
