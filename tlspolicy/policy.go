package tlspolicy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Level is the outbound TLS level asked for, as Postfix's
// smtp_tls_security_level names the levels this package acts on.
type Level string

// The levels that involve DANE. Any other level ("may", "encrypt", ...)
// means DANE is not used; MTA-STS applies at every level but none when
// it is on.
const (
	// LevelDANE is opportunistic DANE: DANE where the MX and TLSA
	// records are DNSSEC-validated, MTA-STS or the opportunistic level
	// elsewhere.
	LevelDANE Level = "dane"
	// LevelDANEOnly is mandatory DANE: a host without usable validated
	// TLSA records gets no mail (it waits in the queue).
	LevelDANEOnly Level = "dane-only"
)

// Policy is what an SMTP client consults per next-hop domain before it
// connects: DANE (RFC 7672) when the level asks for it and DNSSEC
// validates the domain's MX records, else MTA-STS (RFC 8461) when it is
// on and the domain has a policy, else nothing (the client's own
// opportunistic or configured level). It also counts the outcomes for
// TLS-RPT (RFC 8460). Its zero value does nothing.
type Policy struct {
	// DNSSEC is the validating resolver (smtp_dns_support_level =
	// dnssec); without it, DANE is never used, as in Postfix.
	DNSSEC *Resolver
	// STS, when set, turns MTA-STS on.
	STS *STS
	// Recorder, when set, counts sessions for TLS-RPT.
	Recorder *Recorder
	// Now is the clock for DANE-TA expiry checks; time.Now when nil.
	Now func() time.Time
}

// Domain is the policy of one next-hop domain.
type Domain struct {
	p     *Policy
	name  string
	level Level
	// DANE is set when the domain's MX records (or its denial) are
	// DNSSEC-validated and the level asks for DANE: TLSA records are
	// then looked up per MX host.
	DANE bool
	// STS is the MTA-STS policy in force, nil when none.
	STS *STSPolicy
	// stsErr is why no MTA-STS policy could be had (for TLS-RPT).
	stsErr error
}

// ForDomain returns the policy of a next-hop domain for level. An
// error means the mail must wait: DNS trouble at a level that needs
// DNSSEC.
func (p *Policy) ForDomain(ctx context.Context, domain string, level Level) (*Domain, error) {
	d := &Domain{p: p, name: normalizeHost(domain), level: level}
	if p == nil {
		return d, nil
	}
	if (level == LevelDANE || level == LevelDANEOnly) && p.DNSSEC != nil {
		_, secure, err := p.DNSSEC.LookupMX(ctx, d.name)
		if err != nil {
			// SERVFAIL from a validating resolver is also what bogus
			// DNSSEC data looks like: never fall back to less.
			return nil, fmt.Errorf("MX lookup error for %s: %w", d.name, err)
		}
		d.DANE = secure
	}
	if p.STS != nil {
		sp, err := p.STS.Policy(ctx, d.name)
		switch {
		case err == nil:
			d.STS = sp
		case !errors.Is(err, ErrNoSTSPolicy):
			d.stsErr = err
		}
	}
	return d, nil
}

// ForRelay returns the policy of a nexthop given as a host name rather
// than a domain: Postfix's "[host]" and "[host]:port" nexthops, a
// relayhost. As in Postfix, DANE applies at the dane levels when the
// host's address records are DNSSEC-validated (checked by ForHost, with
// the host's own TLSA records); MTA-STS does not apply, its policies
// being about a domain's MX hosts (RFC 8461 4). Sessions are counted
// for TLS-RPT under the host name.
func (p *Policy) ForRelay(ctx context.Context, host string, level Level) (*Domain, error) {
	d := &Domain{p: p, name: normalizeHost(host), level: level}
	if p != nil && (level == LevelDANE || level == LevelDANEOnly) && p.DNSSEC != nil {
		d.DANE = true
	}
	return d, nil
}

// Mode is how one MX host is treated.
type Mode int

// The modes, from the strongest.
const (
	// ModeNone: no policy; the client's own level applies.
	ModeNone Mode = iota
	// ModeDANE: TLS mandatory, the certificate verified against the
	// host's usable TLSA records.
	ModeDANE
	// ModeDANEEncrypt: validated TLSA records exist but none is usable
	// (RFC 7672 2.2, Postfix's "encrypt" then): TLS mandatory,
	// certificate not checked.
	ModeDANEEncrypt
	// ModeSTSEnforce: TLS mandatory with a certificate valid for the MX
	// host under the WebPKI (RFC 8461 4.2).
	ModeSTSEnforce
	// ModeSTSTesting: as enforce, but failures are only reported.
	ModeSTSTesting
)

// Host is the policy of one MX host of a domain.
type Host struct {
	d    *Domain
	Name string
	Mode Mode
	// TLSA are the host's usable validated records (ModeDANE).
	TLSA []TLSA
	// all are all the validated records, for TLS-RPT's policy-string.
	all []TLSA
	// SendingMTAIP is this client's address in the session, for the
	// TLS-RPT failure details; the caller sets it once connected.
	SendingMTAIP netip.Addr
	// ReceivingHELO is the name the server greeted with, for the
	// TLS-RPT failure details of sessions without TLS (NoTLS).
	ReceivingHELO string
	// Target is the CNAME-expanded host name whose TLSA records apply
	// (RFC 7672 2.2.2), "" when they are the host name's own.
	Target string
	// skipReport: the session is not counted (an MX host a testing
	// policy does not list was counted once as a failure).
	skipReport bool
}

// Mandatory reports whether TLS is required: no plaintext, no retry
// without TLS.
func (h *Host) Mandatory() bool {
	return h.Mode == ModeDANE || h.Mode == ModeDANEEncrypt || h.Mode == ModeSTSEnforce
}

// HostError is why mail may not go to a host; Text is Postfix-style,
// for the log and the DSN.
type HostError struct {
	Text string
}

func (e *HostError) Error() string { return e.Text }

// ForHost returns the policy of one of the domain's hosts reached on
// port (the TLSA records are those of "_port._tcp.host"). A *HostError
// means the host must not get the mail: a TLSA lookup error, no TLSA
// at level dane-only, or an MX host that an enforced MTA-STS policy
// does not list. The skip of a host is counted for TLS-RPT.
func (d *Domain) ForHost(ctx context.Context, host string, port int) (*Host, error) {
	h := &Host{d: d, Name: normalizeHost(host)}
	if d.DANE {
		if err := h.lookupTLSA(ctx, port); err != nil {
			return nil, err
		}
		if h.Mode != ModeNone {
			return h, nil
		}
	}
	if d.level == LevelDANEOnly {
		d.p.Recorder.Fail(PolicyRef{Type: PolicyTLSA, Domain: d.name}, Failure{Result: ResultDANERequired, ReceivingMX: h.Name})
		return nil, &HostError{Text: fmt.Sprintf("No validated TLSA records for %s:%d (smtp_tls_security_level = dane-only)", h.Name, port)}
	}
	if d.STS != nil {
		h.Mode = ModeSTSTesting
		if d.STS.Mode == STSEnforce {
			h.Mode = ModeSTSEnforce
		}
		if !d.STS.MatchMX(h.Name) {
			d.p.Recorder.Fail(h.Ref(), Failure{Result: ResultValidationFailure, ReceivingMX: h.Name, AdditionalInfo: "MX host not listed in the MTA-STS policy"})
			if h.Mode == ModeSTSEnforce {
				return nil, &HostError{Text: fmt.Sprintf("MX host %s does not match the MTA-STS policy of %s", h.Name, d.name)}
			}
			h.Mode = ModeNone // testing: reported once, then as if no policy
			h.skipReport = true
		}
	}
	return h, nil
}

// lookupTLSA sets the host's DANE mode from its validated TLSA records
// (RFC 7672 2.2.2): none unless its address records are validated; at
// the CNAME-expanded name first when they came through a CNAME chain,
// then at the host name.
func (h *Host) lookupTLSA(ctx context.Context, port int) error {
	d := h.d
	secure, target, err := d.p.DNSSEC.LookupAddrs(ctx, h.Name)
	if err != nil {
		d.p.Recorder.Fail(PolicyRef{Type: PolicyTLSA, Domain: d.name}, Failure{Result: ResultDNSSECInvalid, ReceivingMX: h.Name, AdditionalInfo: "address lookup error"})
		return &HostError{Text: fmt.Sprintf("address lookup error for %s", h.Name)}
	}
	if !secure {
		return nil // insecure addresses: DANE does not apply to the host
	}
	names := []string{h.Name}
	if target != "" && target != h.Name {
		names = []string{target, h.Name}
	}
	for _, n := range names {
		recs, secure, err := d.p.DNSSEC.LookupTLSA(ctx, port, n)
		if err != nil {
			d.p.Recorder.Fail(PolicyRef{Type: PolicyTLSA, Domain: d.name}, Failure{Result: ResultDNSSECInvalid, ReceivingMX: h.Name, AdditionalInfo: "TLSA lookup error"})
			return &HostError{Text: fmt.Sprintf("TLSA lookup error for %s:%d", n, port)}
		}
		if secure && len(recs) > 0 {
			if n != h.Name {
				h.Target = n
			}
			h.all = recs
			h.TLSA = UsableTLSA(recs)
			h.Mode = ModeDANE
			if len(h.TLSA) == 0 {
				h.Mode = ModeDANEEncrypt
			}
			return nil
		}
	}
	return nil
}

// Ref is the TLS-RPT name of the policy the host is held to.
func (h *Host) Ref() PolicyRef {
	d := h.d
	switch {
	case h.Mode == ModeDANE || h.Mode == ModeDANEEncrypt:
		ref := PolicyRef{Type: PolicyTLSA, Domain: d.name}
		for _, r := range h.all {
			ref.String = append(ref.String, r.String())
		}
		return ref
	case d.STS != nil:
		return PolicyRef{Type: PolicySTS, Domain: d.name, String: d.STS.Text, MXHost: d.STS.MX}
	}
	return PolicyRef{Type: PolicyNotFound, Domain: d.name}
}

// Verify checks the TLS session with the host as its mode requires.
// roots are the WebPKI roots for MTA-STS (the system's when nil).
// verified reports a certificate checked by DANE or MTA-STS ("Verified
// TLS connection" in the log); a non-nil error means the session must
// not carry mail (for ModeSTSTesting it is reported, and err is nil).
// The outcome is counted for TLS-RPT.
func (h *Host) Verify(cs tls.ConnectionState, roots *x509.CertPool, ip, helo string) (verified bool, err error) {
	now := time.Now()
	if h.d.p.Now != nil {
		now = h.d.p.Now()
	}
	fail := func(rt ResultType, info string) {
		h.d.p.Recorder.Fail(h.Ref(), h.failure(rt, info, ip, helo))
	}
	switch h.Mode {
	case ModeDANE:
		names := []string{h.Name, h.d.name}
		if h.Target != "" {
			names = append(names, h.Target) // RFC 7672 3.2.2
		}
		if _, err := VerifyDANE(cs, h.TLSA, names, now); err != nil {
			rt := ResultValidationFailure
			switch err {
			case ErrDANEName:
				rt = ResultCertHostMismatch
			case ErrDANEChain:
				rt = ResultCertExpired
			}
			fail(rt, err.Error())
			return false, err
		}
		h.success()
		return true, nil
	case ModeDANEEncrypt:
		h.success()
		return false, nil
	case ModeSTSEnforce, ModeSTSTesting:
		if rt, err := verifyWebPKI(cs, roots, h.Name, now); err != nil {
			fail(rt, err.Error())
			if h.Mode == ModeSTSEnforce {
				return false, err
			}
			return false, nil
		}
		h.success()
		return true, nil
	}
	if !h.skipReport {
		h.success()
	}
	return false, nil
}

// NoTLS reports that the host did not offer STARTTLS or the handshake
// failed (handshake true); it counts the failure for TLS-RPT.
func (h *Host) NoTLS(handshake bool, ip, info string) {
	if h.skipReport {
		return
	}
	rt := ResultSTARTTLSNotSupported
	if handshake {
		rt = ResultValidationFailure
	}
	ref := h.Ref()
	if h.Mode == ModeNone && h.d.stsErr != nil {
		ref, rt = PolicyRef{Type: PolicySTS, Domain: h.d.name}, stsErrResult(h.d.stsErr)
	}
	h.d.p.Recorder.Fail(ref, h.failure(rt, info, ip, ""))
}

func (h *Host) success() {
	if h.Mode == ModeNone && h.d.stsErr != nil {
		// The domain publishes MTA-STS, but its policy could not be
		// had: a failure of its sts policy (RFC 8460 4.3.2.3).
		h.d.p.Recorder.Fail(PolicyRef{Type: PolicySTS, Domain: h.d.name}, Failure{Result: stsErrResult(h.d.stsErr), ReceivingMX: h.Name, AdditionalInfo: h.d.stsErr.Error()})
		return
	}
	h.d.p.Recorder.Success(h.Ref())
}

// stsErrResult is the TLS-RPT result type of a policy fetch failure.
func stsErrResult(err error) ResultType {
	switch {
	case errors.Is(err, ErrSTSFetchCert):
		return ResultSTSWebPKIInvalid
	case errors.Is(err, ErrSTSPolicyInvalid):
		return ResultSTSPolicyInvalid
	}
	return ResultSTSPolicyFetchError
}

func (h *Host) failure(rt ResultType, info, ip, helo string) Failure {
	if helo == "" {
		helo = h.ReceivingHELO
	}
	f := Failure{Result: rt, SendingMTAIP: h.SendingMTAIP, ReceivingMX: h.Name, ReceivingHELO: helo, AdditionalInfo: info}
	f.ReceivingIP = parseAddr(ip)
	if h.d.stsErr != nil && h.Mode == ModeNone {
		f.AdditionalInfo = h.d.stsErr.Error()
	}
	return f
}

// verifyWebPKI checks the certificate chain against roots and the host
// name (RFC 8461 4.2), and names the TLS-RPT result type of a failure.
func verifyWebPKI(cs tls.ConnectionState, roots *x509.CertPool, host string, now time.Time) (ResultType, error) {
	if len(cs.PeerCertificates) == 0 {
		return ResultCertNotTrusted, PolicyError("Server certificate not trusted: none sent")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		var ie x509.CertificateInvalidError
		if errors.As(err, &ie) && ie.Reason == x509.Expired {
			return ResultCertExpired, PolicyError("Server certificate not trusted: expired")
		}
		return ResultCertNotTrusted, PolicyError("Server certificate not trusted")
	}
	if leaf.VerifyHostname(host) != nil {
		return ResultCertHostMismatch, PolicyError("Server certificate not verified: name mismatch")
	}
	return "", nil
}
