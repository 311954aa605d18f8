package restrict

import (
	"fmt"
	"strings"
)

// kind identifies a restriction.
type kind int

const (
	kUnknown kind = iota
	kPermit
	kReject
	kDefer
	kDunno
	kWarnIfReject
	kDeferIfPermit
	kDeferIfReject
	kRejectUnauthPipelining
	kRejectPlaintextSession
	kPermitMynetworks
	kPermitSASL
	kPermitAuthDest
	kPermitMXBackup
	kRejectUnauthDest
	kDeferUnauthDest
	kRejectInvalidHelo
	kRejectNonFQDNHelo
	kRejectUnknownHelo
	kRejectUnknownSenderDomain
	kRejectUnknownRecipientDomain
	kRejectNonFQDNSender
	kRejectNonFQDNRecipient
	kRejectUnlistedRecipient
	kRejectUnlistedSender
	kRejectSenderLoginMismatch
	kRejectAuthSenderLoginMismatch
	kRejectKnownSenderLoginMismatch
	kRejectUnauthSenderLoginMismatch
	kRejectUnknownClient
	kRejectUnknownReverseClient
	kRejectMultiRecipientBounce
	kCheckClientAccess
	kCheckReverseClientAccess
	kCheckHeloAccess
	kCheckSenderAccess
	kCheckRecipientAccess
	kCheckSASLAccess
	kBareMap // "type:name" alone: the stage's default access check
	kRejectRBLClient
	kPermitDNSWLClient
	kRejectRHSBLClient
	kPermitRHSWLClient
	kRejectRHSBLReverseClient
	kRejectRHSBLSender
	kRejectRHSBLHelo
	kRejectRHSBLRecipient
	kCheckPolicyService
	kClass // a smtpd_restriction_classes name
)

// restrictionKinds maps restriction names (lower case) to kinds. Names
// taking an argument are listed in argKinds.
var restrictionKinds = map[string]kind{
	"permit":                                       kPermit,
	"reject":                                       kReject,
	"defer":                                        kDefer,
	"dunno":                                        kDunno,
	"warn_if_reject":                               kWarnIfReject,
	"defer_if_permit":                              kDeferIfPermit,
	"defer_if_reject":                              kDeferIfReject,
	"reject_unauth_pipelining":                     kRejectUnauthPipelining,
	"reject_plaintext_session":                     kRejectPlaintextSession,
	"permit_mynetworks":                            kPermitMynetworks,
	"permit_sasl_authenticated":                    kPermitSASL,
	"permit_auth_destination":                      kPermitAuthDest,
	"permit_mx_backup":                             kPermitMXBackup,
	"reject_unauth_destination":                    kRejectUnauthDest,
	"defer_unauth_destination":                     kDeferUnauthDest,
	"reject_invalid_helo_hostname":                 kRejectInvalidHelo,
	"reject_invalid_hostname":                      kRejectInvalidHelo,
	"reject_non_fqdn_helo_hostname":                kRejectNonFQDNHelo,
	"reject_non_fqdn_hostname":                     kRejectNonFQDNHelo,
	"reject_unknown_helo_hostname":                 kRejectUnknownHelo,
	"reject_unknown_hostname":                      kRejectUnknownHelo,
	"reject_unknown_sender_domain":                 kRejectUnknownSenderDomain,
	"reject_unknown_address":                       kRejectUnknownSenderDomain,
	"reject_unknown_recipient_domain":              kRejectUnknownRecipientDomain,
	"reject_non_fqdn_sender":                       kRejectNonFQDNSender,
	"reject_non_fqdn_recipient":                    kRejectNonFQDNRecipient,
	"reject_unlisted_recipient":                    kRejectUnlistedRecipient,
	"check_recipient_maps":                         kRejectUnlistedRecipient,
	"reject_unlisted_sender":                       kRejectUnlistedSender,
	"reject_sender_login_mismatch":                 kRejectSenderLoginMismatch,
	"reject_authenticated_sender_login_mismatch":   kRejectAuthSenderLoginMismatch,
	"reject_known_sender_login_mismatch":           kRejectKnownSenderLoginMismatch,
	"reject_unauthenticated_sender_login_mismatch": kRejectUnauthSenderLoginMismatch,
	"reject_unknown_client_hostname":               kRejectUnknownClient,
	"reject_unknown_client":                        kRejectUnknownClient,
	"reject_unknown_reverse_client_hostname":       kRejectUnknownReverseClient,
	"reject_multi_recipient_bounce":                kRejectMultiRecipientBounce,
}

// argKinds take the next list element as argument: a table for the
// check_*_access restrictions, a DNS domain for the DNSBL ones.
var argKinds = map[string]kind{
	"check_client_access":         kCheckClientAccess,
	"check_reverse_client_access": kCheckReverseClientAccess,
	"check_helo_access":           kCheckHeloAccess,
	"check_sender_access":         kCheckSenderAccess,
	"check_recipient_access":      kCheckRecipientAccess,
	"check_sasl_access":           kCheckSASLAccess,
	"reject_rbl_client":           kRejectRBLClient,
	"reject_rbl":                  kRejectRBLClient,
	"permit_dnswl_client":         kPermitDNSWLClient,
	"reject_rhsbl_client":         kRejectRHSBLClient,
	"permit_rhswl_client":         kPermitRHSWLClient,
	"reject_rhsbl_reverse_client": kRejectRHSBLReverseClient,
	"reject_rhsbl_sender":         kRejectRHSBLSender,
	"reject_rhsbl_helo":           kRejectRHSBLHelo,
	"reject_rhsbl_recipient":      kRejectRHSBLRecipient,
	"check_policy_service":        kCheckPolicyService,
}

// unsupported restrictions are known to Postfix but need machinery this
// package does not have; naming one is a configuration error.
var unsupported = map[string]string{
	"reject_unverified_sender":    "address verification is not supported",
	"reject_unverified_recipient": "address verification is not supported",
	"permit_tls_clientcerts":      "TLS client certificates are not supported",
	"permit_tls_all_clientcerts":  "TLS client certificates are not supported",
	"check_ccert_access":          "TLS client certificates are not supported",
	"check_relay_domains":         "check_relay_domains was removed from Postfix; use reject_unauth_destination",
	"reject_maps_rbl":             "reject_maps_rbl was removed from Postfix; use reject_rbl_client",
	"permit_naked_ip_address":     "permit_naked_ip_address was removed from Postfix",
	"sleep":                       "sleep is not supported",
	"permit_inet_interfaces":      "permit_inet_interfaces is not supported",
	"check_client_mx_access":      "check_*_{mx,ns,a}_access are not supported",
	"check_client_ns_access":      "check_*_{mx,ns,a}_access are not supported",
	"check_client_a_access":       "check_*_{mx,ns,a}_access are not supported",
	"check_helo_mx_access":        "check_*_{mx,ns,a}_access are not supported",
	"check_helo_ns_access":        "check_*_{mx,ns,a}_access are not supported",
	"check_helo_a_access":         "check_*_{mx,ns,a}_access are not supported",
	"check_sender_mx_access":      "check_*_{mx,ns,a}_access are not supported",
	"check_sender_ns_access":      "check_*_{mx,ns,a}_access are not supported",
	"check_sender_a_access":       "check_*_{mx,ns,a}_access are not supported",
	"check_recipient_mx_access":   "check_*_{mx,ns,a}_access are not supported",
	"check_recipient_ns_access":   "check_*_{mx,ns,a}_access are not supported",
	"check_recipient_a_access":    "check_*_{mx,ns,a}_access are not supported",
	"check_etrn_access":           "ETRN is not supported",
}

// step is one compiled element of a restriction list.
type step struct {
	kind  kind
	name  string // as written, for logging
	arg   string // table reference, DNSBL domain or class name
	table Table
	// pattern is isPattern(table), found once when compiled: a
	// pattern table gets only full-key lookups.
	pattern bool
	rbl     *rblSpec
	policy  *policyClient
}

// list is a compiled restriction list.
type list struct {
	param string
	steps []step
}

// ConfigError is a problem in a restriction list or a table it names.
type ConfigError struct {
	Param   string // main.cf parameter ("smtpd_recipient_restrictions")
	Element int    // 1-based position in the list, 0 when not element-specific
	Token   string // the offending element
	Err     error
}

// Error formats the parameter, the element position and the problem.
func (e *ConfigError) Error() string {
	if e.Element > 0 {
		return fmt.Sprintf("%s: element %d %q: %v", e.Param, e.Element, e.Token, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Param, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// splitRestrictions splits a list on commas and white space, keeping
// "{ ... }" groups (inline: tables) together.
func splitRestrictions(s string) ([]string, error) {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && isListSep(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start, level := i, 0
		for i < len(s) && (level > 0 || !isListSep(s[i])) {
			switch s[i] {
			case '{':
				level++
			case '}':
				level--
				if level < 0 {
					return nil, fmt.Errorf("unbalanced '}' in %q", s[start:])
				}
			}
			i++
		}
		if level != 0 {
			return nil, fmt.Errorf("unbalanced '{' in %q", s[start:])
		}
		tok := s[start:i]
		if strings.HasPrefix(tok, "{") && strings.HasSuffix(tok, "}") {
			tok = strings.TrimSpace(tok[1 : len(tok)-1])
		}
		out = append(out, tok)
	}
	return out, nil
}

func isListSep(c byte) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// compileList parses the restriction list held in parameter param.
func (p *Policy) compileList(param string, depth int) (*list, error) {
	if l, ok := p.lists[param]; ok {
		return l, nil
	}
	raw, _ := p.params.raw(param)
	val, err := p.params.Expand(raw)
	if err != nil {
		return nil, &ConfigError{Param: param, Err: err}
	}
	toks, err := splitRestrictions(val)
	if err != nil {
		return nil, &ConfigError{Param: param, Err: err}
	}
	l := &list{param: param}
	p.lists[param] = l // entered before compiling: classes may refer to each other
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		pos := i + 1
		name := strings.ToLower(tok)
		cfgErr := func(format string, args ...any) error {
			return &ConfigError{Param: param, Element: pos, Token: tok, Err: fmt.Errorf(format, args...)}
		}
		if k, ok := restrictionKinds[name]; ok {
			l.steps = append(l.steps, step{kind: k, name: name})
			continue
		}
		if k, ok := argKinds[name]; ok {
			if i+1 >= len(toks) {
				return nil, cfgErr("missing argument")
			}
			i++
			arg := toks[i]
			s := step{kind: k, name: name, arg: arg}
			if k >= kCheckClientAccess && k <= kCheckSASLAccess {
				if !strings.Contains(arg, ":") {
					return nil, &ConfigError{Param: param, Element: i + 1, Token: arg, Err: fmt.Errorf("%s: need maptype:mapname", name)}
				}
				t, err := p.openTable(arg)
				if err != nil {
					return nil, &ConfigError{Param: param, Element: i + 1, Token: arg, Err: err}
				}
				s.table, s.pattern = t, isPattern(t)
			} else if k == kCheckPolicyService {
				pc, ok := p.policies[arg]
				if !ok {
					var err error
					if pc, err = p.newPolicyClient(arg); err != nil {
						return nil, &ConfigError{Param: param, Element: i + 1, Token: arg, Err: err}
					}
					p.policies[arg] = pc
				}
				s.policy = pc
			} else {
				spec, err := parseRBLSpec(arg)
				if err != nil {
					return nil, &ConfigError{Param: param, Element: i + 1, Token: arg, Err: err}
				}
				s.rbl = spec
			}
			l.steps = append(l.steps, s)
			continue
		}
		if why, ok := unsupported[name]; ok {
			return nil, cfgErr("%s", why)
		}
		if strings.Contains(tok, ":") {
			t, err := p.openTable(tok)
			if err != nil {
				return nil, cfgErr("%v", err)
			}
			l.steps = append(l.steps, step{kind: kBareMap, name: tok, arg: tok, table: t, pattern: isPattern(t)})
			continue
		}
		if p.classes[name] {
			if depth > maxClassDepth {
				return nil, cfgErr("restriction classes nested deeper than %d", maxClassDepth)
			}
			if _, err := p.compileList(name, depth+1); err != nil {
				return nil, err
			}
			l.steps = append(l.steps, step{kind: kClass, name: name, arg: name})
			continue
		}
		return nil, cfgErr("unknown restriction")
	}
	return l, nil
}

const maxClassDepth = 20

// hasRequired reports whether l contains a restriction that refuses mail
// by default, as Postfix requires of the relay or recipient list.
func (p *Policy) hasRequired(l *list, depth int) bool {
	if l == nil || depth > maxClassDepth {
		return false
	}
	for i := 0; i < len(l.steps); i++ {
		s := l.steps[i]
		switch s.kind {
		case kWarnIfReject:
			i++
			continue
		case kPermit:
			return false
		case kRejectUnauthDest, kDeferUnauthDest, kReject, kDefer, kDeferIfPermit:
			return true
		case kClass:
			if p.hasRequired(p.lists[s.arg], depth+1) {
				return true
			}
		}
	}
	return false
}
