package queue

// Outbound TLS policy: DANE (RFC 7672), MTA-STS (RFC 8461) and TLS-RPT
// (RFC 8460) through SMTPTransport.TLSPolicy (package tlspolicy). The
// transport asks the policy once per next-hop domain and once per MX
// host, then lets it judge the TLS session after the handshake:
//
//   - a host under DANE or an enforced MTA-STS policy gets mail over TLS
//     only, with a certificate the policy accepts, and never in
//     plaintext (no retry without TLS); a failure defers the mail with
//     4.7.5 and Postfix's words ("Server certificate not trusted",
//     "TLSA lookup error for mx.example:25");
//   - an MTA-STS policy in testing mode changes nothing but the report;
//   - without a policy the configured level applies, as before.
//
// A [host] nexthop or a relayhost gets DANE as in Postfix (the host's
// own TLSA records, when its address records are validated) but no
// MTA-STS, which is about a domain's MX hosts; its sessions are counted
// for TLS-RPT under the host name. An address literal and sessions at
// level none get no policy.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/yubinmail/yubin/tlspolicy"
)

// tlsPolicyLevel is the level of a session whose TLS the policy
// requires and checks itself (DANE, enforced MTA-STS): mandatory, with
// the certificate judged by the policy rather than by TLSLevel.
const tlsPolicyLevel TLSLevel = "policy"

// daneLevelOf returns the DANE level of a configured level, "" for
// none.
func daneLevelOf(configured TLSLevel) tlspolicy.Level {
	switch l := tlspolicy.Level(strings.ToLower(string(configured))); l {
	case tlspolicy.LevelDANE, tlspolicy.LevelDANEOnly:
		return l
	}
	return ""
}

// maxPolicyMapLookups bounds the parent domains tried in
// smtp_tls_policy_maps.
const maxPolicyMapLookups = 10

// policyMapLevel returns the level for the nexthop: from
// smtp_tls_policy_maps when it has an entry, else TLSLevel. As in
// Postfix, the key is the nexthop domain, then its parent domains with
// a leading dot, or "[host]" for a bracketed nexthop (the port
// stripped). Only the entry's level is used: attributes such as
// match= or protocols= are logged and ignored, except that an entry
// with attributes at level verify or secure is refused (the mail
// waits), since the match it asks for cannot be honoured.
func (t *SMTPTransport) policyMapLevel(ctx context.Context, d *Delivery, nh smtpNexthop) (TLSLevel, *Result) {
	if t.TLSPolicyMap == nil {
		return t.TLSLevel, nil
	}
	keys := []string{"[" + nh.host + "]"}
	if nh.mx {
		keys = []string{nh.host}
		for h := nh.host; len(keys) < maxPolicyMapLookups; {
			_, rest, ok := strings.Cut(h, ".")
			if !ok || rest == "" {
				break
			}
			keys = append(keys, "."+rest)
			h = rest
		}
	}
	for _, k := range keys {
		v, found, err := t.TLSPolicyMap(ctx, k)
		if err != nil {
			t.logger(d).Warn("smtp_tls_policy_maps lookup failed", "queue_id", d.Envelope.ID, "key", k, "error", err.Error())
			return "", mxFail(Deferred, "4.3.0", "Temporary failure: TLS policy lookup failed")
		}
		if !found {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		level := TLSLevel(strings.ToLower(f[0]))
		if len(f) > 1 {
			if level == TLSVerify || level == TLSSecure {
				return "", mxFail(Deferred, "4.7.5", "TLS is required, but the smtp_tls_policy_maps attributes for %s are not supported", smtpTruncate(k, 100))
			}
			t.logger(d).Warn("smtp_tls_policy_maps attributes ignored", "key", k, "value", smtpTruncate(v, 200))
		}
		return level, nil
	}
	return t.TLSLevel, nil
}

// daneAvailable reports whether DANE can be used: a policy with a
// validating resolver (smtp_dns_support_level = dnssec).
func (t *SMTPTransport) daneAvailable() bool {
	return t.TLSPolicy != nil && t.TLSPolicy.DNSSEC != nil
}

// domainTLSPolicy looks the next-hop domain's policy up and marks the
// connection cache key with it, so that sessions are shared only
// between deliveries under the same policy.
func (a *smtpAttempt) domainTLSPolicy(ctx context.Context) *Result {
	t := a.t
	if t.TLSPolicy == nil || a.level == TLSNone || a.nh.ip.IsValid() {
		return nil
	}
	var d *tlspolicy.Domain
	var err error
	if a.nh.mx {
		d, err = t.TLSPolicy.ForDomain(ctx, a.nh.host, a.dane)
	} else {
		d, err = t.TLSPolicy.ForRelay(ctx, a.nh.host, a.dane)
	}
	if err != nil {
		a.log.Warn("TLS policy lookup failed", "queue_id", a.d.Envelope.ID, "domain", a.nh.host, "error", err.Error())
		return mxFail(Deferred, "4.7.5", "TLS policy lookup error for %s: MX lookup error", a.nh.host)
	}
	a.dom = d
	switch {
	case d.DANE:
		a.key += "|dane"
	case d.STS != nil:
		a.key += "|sts-" + string(d.STS.Mode)
	}
	return nil
}

// hostTLSPolicy returns the level to open tg with and remembers the
// host's policy for the handshake; a non-nil Result means the host must
// not be used.
func (a *smtpAttempt) hostTLSPolicy(ctx context.Context, tg mxTarget) (TLSLevel, *Result) {
	a.host = nil
	if a.dom == nil {
		return a.level, nil
	}
	h, err := a.dom.ForHost(ctx, tg.host, int(a.port))
	if err != nil {
		var he *tlspolicy.HostError
		text := "TLS policy lookup error"
		if errors.As(err, &he) {
			text = he.Text
		}
		a.log.Warn(text, "queue_id", a.d.Envelope.ID, "relay", smtpRelayName(tg.host, tg.addr, a.port))
		r := mxFail(Deferred, "4.7.5", "%s", text)
		return "", r
	}
	a.host = h
	if h.Mandatory() && !a.level.mandatory() {
		return tlsPolicyLevel, nil
	}
	return a.level, nil
}

// policyHandshake lets the host's policy judge an established TLS
// session. done is false when the configured level is to judge it as
// well: the host has no policy or one in testing mode, or the level is
// verify or secure (both must then pass).
func (a *smtpAttempt) policyHandshake(tc *tls.Conn, cs tls.ConnectionState, s *smtpSession, tg mxTarget) (*tls.Conn, *Result, bool) {
	h := a.host
	if h == nil {
		return nil, nil, false
	}
	h.SendingMTAIP = localAddr(s)
	verified, err := h.Verify(cs, a.t.RootCAs, tg.addr.String(), greetingName(s))
	if err != nil {
		text := err.Error()
		r := mxFail(Deferred, "4.7.5", "%s", text)
		r.Relay, r.RemoteMTA = s.relay, s.host
		a.log.Warn(fmt.Sprintf("%s: %s", s.relay, text), "queue_id", a.d.Envelope.ID, "policy", policyName(h))
		tc.Close()
		return nil, r, true
	}
	if h.Mode == tlspolicy.ModeNone || h.Mode == tlspolicy.ModeSTSTesting || a.level == TLSVerify || a.level == TLSSecure {
		// No policy, or one that only reports, or a configured level
		// that checks the certificate too: the level judges and logs.
		return nil, nil, false
	}
	pt := tlsPeerTrust{trusted: verified, matched: verified}
	lvl := TLSEncrypt
	if verified {
		lvl = TLSVerify
	}
	a.log.Info(tlsSummary(cs, lvl, pt, s.relay), "queue_id", a.d.Envelope.ID, "policy", policyName(h))
	return tc, nil, true
}

// policyNoTLS counts a session without TLS (not offered, refused, or a
// failed handshake) for TLS-RPT.
func (a *smtpAttempt) policyNoTLS(s *smtpSession, tg mxTarget, handshake bool, info string) {
	if a.host != nil {
		a.host.SendingMTAIP, a.host.ReceivingHELO = localAddr(s), greetingName(s)
		a.host.NoTLS(handshake, tg.addr.String(), info)
	}
}

// localAddr is this end's address of the session (TLS-RPT's
// sending-mta-ip), invalid when unknown.
func localAddr(s *smtpSession) netip.Addr {
	if s == nil || s.pc == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(s.pc.LocalAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// greetingName is the host name the server's 220 greeting starts with
// (TLS-RPT's receiving-mx-helo), "" when it has none.
func greetingName(s *smtpSession) string {
	if s == nil || s.c == nil {
		return ""
	}
	f := strings.Fields(s.c.Greeting)
	if len(f) == 0 || len(f[0]) > 253 {
		return ""
	}
	return f[0]
}

func policyName(h *tlspolicy.Host) string {
	switch h.Mode {
	case tlspolicy.ModeDANE, tlspolicy.ModeDANEEncrypt:
		return "dane"
	case tlspolicy.ModeSTSEnforce:
		return "mta-sts enforce"
	case tlspolicy.ModeSTSTesting:
		return "mta-sts testing"
	}
	return "none"
}
