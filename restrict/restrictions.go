package restrict

import (
	"strings"
)

// apply evaluates one restriction (the body of generic_checks).
func (s *state) apply(st *step, replyName, replyClass, defACL string) status {
	p := s.p
	switch st.kind {
	case kPermit:
		return stOK
	case kDunno:
		return stDunno
	case kReject:
		return s.reject(classPolicy, p.code("reject_code"), "5.7.1", "<%s>: %s rejected: Access denied", replyName, replyClass)
	case kDefer:
		return s.reject(classPolicy, p.code("defer_code"), "4.3.2", "<%s>: %s rejected: Try again later", replyName, replyClass)
	case kDeferIfPermit:
		return s.deferIfPermitOrReject("defer_if_permit", 450, "4.7.0", "<%s>: %s rejected: defer_if_permit requested", replyName, replyClass)
	case kDeferIfReject:
		deferIf(&s.deferIfReject, 450, "4.7.0", "<%s>: %s rejected: defer_if_reject requested", replyName, replyClass)
		return stDunno
	case kRejectUnauthPipelining:
		if s.req.Pipelined {
			return s.reject(classPolicy, 503, "5.5.0", "<%s>: %s rejected: Improper use of SMTP command pipelining", replyName, replyClass)
		}
	case kRejectPlaintextSession:
		if !s.req.TLS {
			return s.reject(classPolicy, p.code("plaintext_reject_code"), "4.7.1", "Session encryption is required")
		}

	// Client restrictions.
	case kPermitMynetworks:
		if s.inMynetworks() {
			return stOK
		}
	case kPermitSASL:
		if s.req.SASLUser != "" {
			return stOK
		}
	case kRejectUnknownClient:
		if s.req.clientName() == "unknown" {
			return s.reject(classPolicy, p.code("unknown_client_reject_code"), "4.7.25", "Client host rejected: cannot find your hostname, [%s]", s.req.ClientAddr)
		}
	case kRejectUnknownReverseClient:
		if s.req.reverseClientName() == "unknown" {
			return s.reject(classPolicy, p.code("unknown_client_reject_code"), "4.7.1", "Client host rejected: cannot find your reverse hostname, [%s]", s.req.ClientAddr)
		}
	case kCheckClientAccess:
		return s.checkNamAddrAccess(st, s.req.clientName(), s.namaddr(), nameClient, defACL)
	case kCheckReverseClientAccess:
		return s.checkNamAddrAccess(st, s.req.reverseClientName(), s.req.reverseClientName(), nameRevClient, defACL)
	case kRejectRBLClient:
		return s.rejectRBLAddr(st.rbl, nameClient)
	case kPermitDNSWLClient:
		return s.permitDNSWLAddr(st.rbl)
	case kRejectRHSBLClient:
		if n := s.req.clientName(); !strings.EqualFold(n, "unknown") {
			return s.rejectRBLDomain(st.rbl, n, nameClient)
		}
	case kPermitRHSWLClient:
		if n := s.req.clientName(); !strings.EqualFold(n, "unknown") {
			return s.permitDNSWLDomain(st.rbl, n)
		}
	case kRejectRHSBLReverseClient:
		if n := s.req.reverseClientName(); !strings.EqualFold(n, "unknown") {
			return s.rejectRBLDomain(st.rbl, n, nameRevClient)
		}
	case kCheckSASLAccess:
		if s.req.SASLUser != "" {
			return s.checkAccess(st, s.req.SASLUser, printable(s.req.SASLUser), nameSASL, defACL, true)
		}

	// HELO restrictions.
	case kCheckHeloAccess:
		if s.helo.set {
			return s.checkDomainAccess(st, s.helo.val, s.helo.val, nameHelo, defACL, true)
		}
	case kRejectInvalidHelo:
		if s.helo.set {
			h := s.helo.val
			if strings.HasPrefix(h, "[") {
				return s.rejectInvalidHostaddr(h)
			}
			t := truncDot(h)
			if !validHostname(t) && !validHostaddr(t) {
				return s.reject(classPolicy, p.code("invalid_hostname_reject_code"), "5.5.2", "<%s>: %s rejected: Invalid name", h, nameHelo)
			}
		}
	case kRejectNonFQDNHelo:
		if s.helo.set {
			h := s.helo.val
			if strings.HasPrefix(h, "[") {
				return s.rejectInvalidHostaddr(h)
			}
			t := truncDot(h)
			if !validHostname(t) || !strings.Contains(t, ".") {
				return s.reject(classPolicy, p.code("non_fqdn_reject_code"), "5.5.2", "<%s>: %s rejected: need fully-qualified hostname", h, nameHelo)
			}
		}
	case kRejectUnknownHelo:
		if s.helo.set {
			h := s.helo.val
			if strings.HasPrefix(h, "[") {
				return s.rejectInvalidHostaddr(h)
			}
			return s.rejectUnknownHostname(h)
		}
	case kRejectRHSBLHelo:
		if s.helo.set {
			return s.rejectRBLDomain(st.rbl, s.helo.val, nameHelo)
		}

	// Sender restrictions.
	case kCheckSenderAccess:
		if s.sender.set {
			if s.sender.val != "" {
				return s.checkMailAccess(st, s.sender.val, s.sender.val, nameSender, defACL)
			}
			return s.checkAccess(st, p.get("smtpd_null_access_lookup_key"), s.sender.val, nameSender, defACL, true)
		}
	case kRejectUnknownSenderDomain:
		if s.sender.set && s.sender.val != "" {
			return s.rejectUnknownAddress(s.sender.val, nameSender)
		}
	case kRejectNonFQDNSender:
		if s.sender.set && s.sender.val != "" {
			return s.rejectNonFQDNAddress(s.sender.val, nameSender)
		}
	case kRejectRHSBLSender:
		if s.sender.set && s.sender.val != "" {
			return s.rejectRBLDomain(st.rbl, s.sender.val, nameSender)
		}
	case kRejectUnlistedSender:
		if s.sender.set && s.sender.val != "" {
			return s.checkSenderRcptMaps(s.sender.val)
		}
	case kRejectSenderLoginMismatch:
		if s.saslEnabled() && s.sender.set && s.sender.val != "" {
			if st := s.rejectAuthSenderLoginMismatch(s.sender.val, false); st != stDunno {
				return st
			}
			return s.rejectUnauthSenderLoginMismatch(s.sender.val)
		}
	case kRejectAuthSenderLoginMismatch:
		if s.saslEnabled() && s.sender.set && s.sender.val != "" {
			return s.rejectAuthSenderLoginMismatch(s.sender.val, false)
		}
	case kRejectKnownSenderLoginMismatch:
		if s.saslEnabled() && s.sender.set && s.sender.val != "" {
			if s.req.SASLUser != "" {
				return s.rejectAuthSenderLoginMismatch(s.sender.val, true)
			}
			return s.rejectUnauthSenderLoginMismatch(s.sender.val)
		}
	case kRejectUnauthSenderLoginMismatch:
		if s.saslEnabled() && s.sender.set && s.sender.val != "" {
			return s.rejectUnauthSenderLoginMismatch(s.sender.val)
		}

	// Recipient restrictions.
	case kCheckRecipientAccess:
		if s.recipient.set {
			return s.checkMailAccess(st, s.recipient.val, s.recipient.val, nameRecipient, defACL)
		}
	case kPermitAuthDest:
		if s.recipient.set && s.permitAuthDestination(s.recipient.val) {
			return stOK
		}
	case kPermitMXBackup:
		if s.recipient.set {
			return s.permitMXBackup(s.recipient.val)
		}
	case kRejectUnauthDest:
		if s.recipient.set && !s.permitAuthDestination(s.recipient.val) {
			return s.reject(classPolicy, p.code("relay_domains_reject_code"), "5.7.1", "<%s>: Relay access denied", s.recipient.val)
		}
	case kDeferUnauthDest:
		if s.recipient.set && !s.permitAuthDestination(s.recipient.val) {
			return s.reject(classPolicy, p.code("relay_domains_reject_code")-100, "4.7.1", "<%s>: Relay access denied", s.recipient.val)
		}
	case kRejectUnknownRecipientDomain:
		if s.recipient.set {
			return s.rejectUnknownAddress(s.recipient.val, nameRecipient)
		}
	case kRejectNonFQDNRecipient:
		if s.recipient.set {
			return s.rejectNonFQDNAddress(s.recipient.val, nameRecipient)
		}
	case kRejectRHSBLRecipient:
		if s.recipient.set {
			return s.rejectRBLDomain(st.rbl, s.recipient.val, nameRecipient)
		}
	case kRejectUnlistedRecipient:
		if s.recipient.set && s.recipient.val != "" {
			return s.checkRecipientRcptMaps(s.recipient.val)
		}
	case kRejectMultiRecipientBounce:
		limit := 0
		if s.stage != StageRecipient {
			limit = 1
		}
		if s.sender.set && s.sender.val == "" && s.req.RecipientCount > limit {
			return s.reject(classPolicy, p.code("multi_recipient_bounce_reject_code"), "5.5.3", "<%s>: %s rejected: Multi-recipient bounce", replyName, replyClass)
		}

	case kCheckPolicyService:
		return s.checkPolicyService(st, replyName, replyClass, defACL)

	case kBareMap:
		if defACL == "" {
			s.serverError(&ConfigError{Param: s.stage.Param(), Token: st.name, Err: errBareMap})
		}
		bare := *st
		bare.kind = aclKinds[defACL]
		return s.apply(&bare, replyName, replyClass, defACL)
	case kClass:
		return s.generic(s.p.lists[st.arg], replyName, replyClass, defACL)
	}
	return stDunno
}

var aclKinds = map[string]kind{
	"check_client_access":    kCheckClientAccess,
	"check_helo_access":      kCheckHeloAccess,
	"check_sender_access":    kCheckSenderAccess,
	"check_recipient_access": kCheckRecipientAccess,
}

// inMynetworks is permit_mynetworks' test, made once per evaluation
// (the default smtpd_relay_restrictions and most recipient lists both
// start with permit_mynetworks).
func (s *state) inMynetworks() bool {
	if s.mynetworks == 0 {
		// Set after the match: a table lookup failure aborts instead.
		if s.p.mynetworks.matchHost(s.ctx, s, s.req.clientName(), s.req.ClientAddr) {
			s.mynetworks = 1
		} else {
			s.mynetworks = -1
		}
	}
	return s.mynetworks > 0
}

func (s *state) saslEnabled() bool {
	return s.p.cfg.saslEnable || s.req.SASLUser != ""
}

// truncDot removes one trailing dot ("host." but not "host..").
func truncDot(name string) string {
	if n := len(name); n > 1 && name[n-1] == '.' && name[n-2] != '.' {
		return name[:n-1]
	}
	return name
}

func (s *state) rejectInvalidHostaddr(h string) status {
	t := h
	if len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']' {
		t = t[1 : len(t)-1]
	}
	if !validMailhostAddr(t) {
		return s.reject(classPolicy, s.p.code("invalid_hostname_reject_code"), "5.5.2", "<%s>: %s rejected: invalid ip address", h, nameHelo)
	}
	return stDunno
}

func (s *state) rejectNonFQDNAddress(addr, replyClass string) status {
	domain := ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		domain = addr[i+1:]
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return stDunno
	}
	t := truncDot(domain)
	if t == "" || !validHostname(t) || !strings.Contains(t, ".") {
		return s.reject(classPolicy, s.p.code("non_fqdn_reject_code"), "4.5.2", "<%s>: %s rejected: need fully-qualified address", addr, replyClass)
	}
	return stDunno
}

func (s *state) permitAuthDestination(rcpt string) bool {
	r := s.p.resolveAddr(s.ctx, s, rcpt)
	if r.routed && !s.p.cfg.allowUntrusted {
		return false
	}
	return r.class != ClassDefault
}
