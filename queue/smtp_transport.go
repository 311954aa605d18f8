package queue

// The outbound SMTP transport: Postfix's smtp(8) as the "smtp" and
// "relay" services of master.cf.
//
// Standards:
//   - RFC 5321 (SMTP), section 5.1: MX records in preference order,
//     shuffled among equal preferences; the domain's own A/AAAA records
//     (implicit MX) when it has no MX; MX hosts of equal or lower
//     preference than this host dropped (mail loops back to myself).
//   - RFC 7505: a null MX ("MX 0 .") bounces at once (5.1.10).
//   - RFC 3207: STARTTLS, with Postfix's smtp_tls_security_level
//     semantics (none, may, encrypt, verify, secure) and wrapper mode
//     (smtp_tls_wrappermode, port 465, RFC 8314).
//   - RFC 4954: AUTH to a relayhost with credentials from
//     smtp_sasl_password_maps (PLAIN, LOGIN; go-sasl); the AUTH=
//     parameter of MAIL FROM passed on.
//   - RFC 3461: DSN parameters (NOTIFY, ORCPT, RET, ENVID) passed on when
//     the server offers DSN (Result.DSNPassed).
//   - RFC 6531: SMTPUTF8 when an address needs it; a server without it
//     bounces the message (5.6.7).
//   - RFC 1870: a message over the server's SIZE bounces (5.3.4).
//   - RFC 6152 (8BITMIME): BODY=8BITMIME passed on; to a server without
//     it 8-bit content is converted to 7bit as Postfix does
//     (mime_downgrade.go, smtp_downgrade.go).
//   - smtp_fallback_relay (smtp_fallback.go).
//
//   - DANE (RFC 7672), MTA-STS (RFC 8461) and TLS-RPT (RFC 8460)
//     through TLSPolicy (smtp_tlspolicy.go, package tlspolicy).
//
// Not done: smtp_tls_policy_maps (one level per transport),
// SASL mechanisms other than PLAIN and LOGIN, smtp_line_length_limit
// for content that is not converted to 7bit (mime_downgrade.go), the
// smtp_sasl_auth_cache,
// XFORWARD, the per-physical-address half of Postfix's connection cache
// (connections are cached per nexthop only), and Postfix's check of MX
// addresses against this host's own (inet_interfaces): only an MX host
// name equal to Hostname is recognised as this host.
//
// Implementation notes: smtp.Client speaks the protocol over a phaseConn
// (smtp_conn.go) that follows the commands written and the replies read,
// so that each read and write gets the time limit of its phase as
// Postfix's smtp_*_timeout parameters define them, and errors name the
// phase ("timed out while sending RCPT TO"). STARTTLS is done here on
// the raw connection rather than by smtp.Client.StartTLS, so that the
// phaseConn sits above TLS and the TLS state can be checked and logged;
// a new Client then reads a replayed greeting and sends EHLO again. A
// session is used by one goroutine at a time; the connection cache is
// guarded by a mutex, and an idle session leaves it either taken by a
// delivery or closed by its timer, never both.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/tlspolicy"
)

// Defaults of SMTPTransport fields, as Postfix names them.
const (
	DefaultSMTPPort                 = "25"             // smtp service
	DefaultMXAddressLimit           = 5                // smtp_mx_address_limit
	DefaultMXSessionLimit           = 2                // smtp_mx_session_limit
	DefaultMXHostLimit              = 100              // (yubin) MX records considered
	DefaultConnectTimeout           = 30 * time.Second // smtp_connect_timeout
	DefaultHeloTimeout              = 300 * time.Second
	DefaultStartTLSTimeout          = 300 * time.Second
	DefaultMailTimeout              = 300 * time.Second
	DefaultRcptTimeout              = 300 * time.Second
	DefaultDataInitTimeout          = 120 * time.Second
	DefaultDataXferTimeout          = 180 * time.Second
	DefaultDataDoneTimeout          = 600 * time.Second
	DefaultRsetTimeout              = 20 * time.Second
	DefaultQuitTimeout              = 300 * time.Second
	DefaultConnectionCacheTimeLimit = 2 * time.Second   // smtp_connection_cache_time_limit
	DefaultConnectionReuseTimeLimit = 300 * time.Second // smtp_connection_reuse_time_limit
	DefaultSASLSecurityOptions      = "noplaintext, noanonymous"
	DefaultSASLTLSSecurityOptions   = "noanonymous"
)

// SMTPTransport delivers to remote SMTP servers: by MX lookup for a
// domain nexthop, or to a relayhost ("[smtp.example.com]:587") with
// SASL credentials, with opportunistic or mandatory TLS. It implements
// Transport; its zero value works (with the host's name as HELO name,
// the system resolver and opportunistic TLS). Fields must not change
// once Deliver has been called. Results follow Postfix: 2xx Sent, 4xx
// and connection or DNS trouble Deferred, 5xx Bounced, per recipient.
type SMTPTransport struct {
	// Hostname is the HELO/EHLO name (smtp_helo_name, default
	// $myhostname); os.Hostname() when empty. An MX list naming this
	// host is cut there (RFC 5321 5.1).
	Hostname string
	// Resolver answers MX, A and AAAA queries; net.DefaultResolver when
	// nil.
	Resolver Resolver
	// Port is the port used when the nexthop names none: a number or a
	// service name; DefaultSMTPPort ("smtp") when empty.
	Port string
	// BindAddress and BindAddress6 are the local IPv4 and IPv6 addresses
	// to connect from (smtp_bind_address, smtp_bind_address6); any when
	// empty.
	BindAddress, BindAddress6 string
	// Protocols is inet_protocols: "ipv4", "ipv6" or "all" (the default).
	Protocols string
	// AddressPreference is smtp_address_preference: "ipv6", "ipv4" or
	// "any" (the default: shuffled) for the order of a host's addresses.
	AddressPreference string
	// MXAddressLimit bounds the addresses tried per delivery
	// (smtp_mx_address_limit); DefaultMXAddressLimit when 0.
	MXAddressLimit int
	// MXSessionLimit bounds the SMTP sessions per delivery
	// (smtp_mx_session_limit); DefaultMXSessionLimit when 0.
	MXSessionLimit int
	// MXHostLimit bounds the MX records considered (the answer is
	// sorted first); DefaultMXHostLimit when 0.
	MXHostLimit int

	// FallbackRelay is smtp_fallback_relay: destinations in transport(5)
	// syntax ("[backup.example]:587", "example.net") tried, in order,
	// for recipients whose own destination cannot be found or is
	// unreachable (see smtp_fallback.go); none when empty.
	FallbackRelay []string

	// DisableMIMEOutputConversion is disable_mime_output_conversion:
	// send 8-bit content as it is to a server that does not announce
	// 8BITMIME, instead of converting it to 7bit as Postfix does by
	// default (mime_downgrade.go).
	DisableMIMEOutputConversion bool

	// TLSLevel is smtp_tls_security_level; "" means TLSMay.
	TLSLevel TLSLevel
	// RootCAs verifies server certificates (smtp_tls_CAfile and
	// smtp_tls_CApath, see LoadRootCAs); the system roots when nil.
	RootCAs *x509.CertPool
	// TLSConfig, when set, is the base of every client TLS config
	// (client certificate, versions, ciphers); its verification fields
	// are overridden by TLSLevel.
	TLSConfig *tls.Config
	// WrapperMode is smtp_tls_wrappermode: TLS from the first byte
	// (port 465) instead of STARTTLS.
	WrapperMode bool
	// TLSPolicyMap, when set, is smtp_tls_policy_maps: the level for a
	// nexthop, looked up by its domain ("example.com", then the parent
	// domains ".example.com", ".com") or by "[host]" for a bracketed
	// nexthop, overriding TLSLevel (see smtp_tlspolicy.go).
	TLSPolicyMap func(ctx context.Context, key string) (value string, found bool, err error)
	// TLSPolicy, when set, is consulted per next-hop domain: DANE at
	// TLSLevel "dane" and "dane-only" when it has a validating
	// resolver (smtp_dns_support_level = dnssec), MTA-STS when it has
	// one, and TLS-RPT counting (smtp_tlspolicy.go).
	TLSPolicy *tlspolicy.Policy

	// SASL, when set, is smtp_sasl_password_maps: credentials are
	// looked up by the remote host name, then by the nexthop as written
	// ("[smtp.example.com]:587"); with none, no AUTH is sent.
	SASL SASLLookup
	// SASLSenderDependent is smtp_sender_dependent_authentication: look
	// the sender address up first.
	SASLSenderDependent bool
	// SASLSecurityOptions is smtp_sasl_security_options for sessions
	// without TLS; DefaultSASLSecurityOptions ("noplaintext,
	// noanonymous": no PLAIN or LOGIN in the clear) when empty.
	SASLSecurityOptions string
	// SASLTLSSecurityOptions is smtp_sasl_tls_security_options for TLS
	// sessions; DefaultSASLTLSSecurityOptions ("noanonymous") when
	// empty. (Postfix's default is $smtp_sasl_security_options, which
	// with PLAIN and LOGIN only would forbid AUTH altogether.)
	SASLTLSSecurityOptions string
	// SASLAuthHardBounce turns off smtp_sasl_auth_soft_bounce: a 5xx
	// reply to AUTH then bounces the mail instead of deferring it.
	SASLAuthHardBounce bool

	// Time limits of each phase (smtp_connect_timeout,
	// smtp_helo_timeout, smtp_starttls_timeout, smtp_mail_timeout,
	// smtp_rcpt_timeout, smtp_data_init_timeout, smtp_data_xfer_timeout,
	// smtp_data_done_timeout, smtp_rset_timeout, smtp_quit_timeout); the
	// Default* constants when 0. HeloTimeout also bounds the wait for
	// the greeting; DataXferTimeout bounds each write of the content.
	ConnectTimeout, HeloTimeout, StartTLSTimeout      time.Duration
	MailTimeout, RcptTimeout                          time.Duration
	DataInitTimeout, DataXferTimeout, DataDoneTimeout time.Duration
	RsetTimeout, QuitTimeout                          time.Duration

	// DisableConnectionCache turns off smtp_connection_cache_on_demand:
	// every delivery opens and closes its own connection.
	DisableConnectionCache bool
	// ConnectionCacheTimeLimit is how long an idle connection is kept
	// for the next delivery to the same nexthop
	// (smtp_connection_cache_time_limit);
	// DefaultConnectionCacheTimeLimit when 0.
	ConnectionCacheTimeLimit time.Duration
	// ConnectionReuseTimeLimit is how long a connection is reused at
	// most (smtp_connection_reuse_time_limit);
	// DefaultConnectionReuseTimeLimit when 0.
	ConnectionReuseTimeLimit time.Duration

	// Logger receives the TLS and SASL notices; Delivery.Logger, then a
	// discarding logger, when nil.
	Logger *slog.Logger

	cacheMu sync.Mutex
	idle    map[string][]*smtpSession
	closed  bool
}

func smtpOrDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func smtpOrInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func (t *SMTPTransport) resolver() Resolver {
	if t.Resolver != nil {
		return t.Resolver
	}
	return net.DefaultResolver
}

func (t *SMTPTransport) hostname() string {
	if t.Hostname != "" {
		return t.Hostname
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func (t *SMTPTransport) protocols() string {
	switch p := strings.ToLower(t.Protocols); p {
	case "ipv4", "ipv6":
		return p
	}
	return "all"
}

func (t *SMTPTransport) mxAddressLimit() int {
	return smtpOrInt(t.MXAddressLimit, DefaultMXAddressLimit)
}
func (t *SMTPTransport) mxSessionLimit() int {
	return smtpOrInt(t.MXSessionLimit, DefaultMXSessionLimit)
}
func (t *SMTPTransport) mxHostLimit() int { return smtpOrInt(t.MXHostLimit, DefaultMXHostLimit) }

// tlsLevelOf returns the effective level of a configured one (TLSLevel
// or an smtp_tls_policy_maps entry); ok is false for a level this
// transport does not implement ("fingerprint", a typo), with which mail
// waits rather than go with less protection than asked. "dane" is
// opportunistic DANE, which without a DNSSEC-validating resolver is
// "may", as in Postfix; DANE itself is applied per host
// (smtp_tlspolicy.go).
func (t *SMTPTransport) tlsLevelOf(configured TLSLevel) (level TLSLevel, ok bool) {
	switch l := TLSLevel(strings.ToLower(string(configured))); l {
	case TLSNone, TLSEncrypt, TLSVerify, TLSSecure, TLSMay:
		return l, true
	case "", "dane":
		return TLSMay, true
	case "dane-only":
		// Mandatory DANE: per host (smtp_tlspolicy.go), and only with a
		// validating resolver.
		return TLSMay, t.daneAvailable()
	}
	return TLSEncrypt, false
}

func (t *SMTPTransport) timeouts() *[numPhases]time.Duration {
	var tm [numPhases]time.Duration
	helo := smtpOrDur(t.HeloTimeout, DefaultHeloTimeout)
	tm[phGreeting], tm[phHelo], tm[phAuth], tm[phOther] = helo, helo, helo, helo
	tm[phStartTLS] = smtpOrDur(t.StartTLSTimeout, DefaultStartTLSTimeout)
	tm[phMail] = smtpOrDur(t.MailTimeout, DefaultMailTimeout)
	tm[phRcpt] = smtpOrDur(t.RcptTimeout, DefaultRcptTimeout)
	tm[phData] = smtpOrDur(t.DataInitTimeout, DefaultDataInitTimeout)
	tm[phXfer] = smtpOrDur(t.DataXferTimeout, DefaultDataXferTimeout)
	tm[phDot] = smtpOrDur(t.DataDoneTimeout, DefaultDataDoneTimeout)
	tm[phRset] = smtpOrDur(t.RsetTimeout, DefaultRsetTimeout)
	tm[phQuit] = smtpOrDur(t.QuitTimeout, DefaultQuitTimeout)
	return &tm
}

func (t *SMTPTransport) logger(d *Delivery) *slog.Logger {
	switch {
	case t.Logger != nil:
		return t.Logger
	case d != nil && d.Logger != nil:
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Deliver delivers the message to the recipients of d through the
// nexthop d.Nexthop (the recipients' domain when empty): a cached
// connection to it if there is one, else the addresses of its MX hosts
// (or of the [host]) in turn, within smtp_mx_address_limit and
// smtp_mx_session_limit. Recipients that get a 4xx from a server that is
// not the last one are tried on the next, as Postfix does. A nexthop
// may be a list ("[a.example]:587, [b.example]:587", Postfix 3.5's
// relayhost list): recipients deferred by one are tried with the next,
// and then with the FallbackRelay destinations (see smtp_fallback.go).
func (t *SMTPTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	start := time.Now()
	results := make([]Result, len(d.Recipients))
	pending := make([]int, len(d.Recipients))
	for i := range pending {
		pending[i] = i
	}
	dest := d.Nexthop
	if dest == "" && len(d.Recipients) > 0 {
		if at := strings.LastIndexByte(d.Recipients[0].Addr, '@'); at >= 0 {
			dest = d.Recipients[0].Addr[at+1:]
		}
	}
	list := splitSMTPNexthops(dest)
	if len(list) == 0 {
		list = []string{dest}
	}
	t.deliverSites(ctx, d, list, pending, results, start)
	return results
}

// maxSMTPNexthops bounds a nexthop list.
const maxSMTPNexthops = 10

// splitSMTPNexthops splits a list of nexthops separated by commas or
// spaces.
func splitSMTPNexthops(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	return f[:min(len(f), maxSMTPNexthops)]
}

// deliverNexthop delivers to the recipients pending (indexes into
// d.Recipients) through one nexthop and writes their results. The
// outcome tells whether the destination could not be found (so the
// results are the lookup's, not a server's) and whether no other
// destination may be tried (this host is its MX, or mail loops).
func (t *SMTPTransport) deliverNexthop(ctx context.Context, d *Delivery, dest string, pending []int, results []Result, start time.Time) (out nexthopOutcome) {
	fill := func(r Result) {
		for _, i := range pending {
			results[i] = r
		}
		pending = nil
	}
	nh, err := parseSMTPNexthop(dest)
	if err != nil {
		fill(*mxFail(Deferred, "4.3.5", "bad nexthop syntax: %q", smtpTruncate(dest, 100)))
		out.lookup = true
		return
	}
	configured, fail := t.policyMapLevel(ctx, d, nh)
	if fail != nil {
		fill(*fail)
		return
	}
	level, ok := t.tlsLevelOf(configured)
	if !ok {
		fill(*mxFail(Deferred, "4.7.5", "TLS is required, but smtp_tls_security_level %q is not supported", smtpTruncate(string(configured), 40)))
		return
	}
	st := &smtpAttempt{t: t, d: d, nh: nh, tm: t.timeouts(), level: level, log: t.logger(d), start: start, dane: daneLevelOf(configured)}
	st.port, err = t.portFor(ctx, nh)
	if err != nil {
		fill(*mxFail(Deferred, "4.3.5", "unknown service %q in nexthop %s", nh.port, nh.dest))
		return
	}
	st.key = string(st.level) + "|" + nh.String() + "|" + st.port.String()
	if t.SASLSenderDependent {
		// Sessions authenticate per sender: cache them per sender.
		st.key += "|" + d.Envelope.From
	}
	if r := st.domainTLSPolicy(ctx); r != nil {
		fill(*r)
		return
	}

	if s := t.cacheGet(st.key); s != nil {
		if s.reuse(ctx) {
			pending = st.transact(ctx, s, pending, results, true)
			st.release(s)
			if len(pending) == 0 {
				return
			}
		} else {
			s.close()
		}
	}

	targets, iAmMX, fail := t.targetsSelf(ctx, nh)
	out.final = iAmMX
	if fail != nil {
		fill(*fail)
		out.lookup = true
		return
	}
	var last *Result
	sessions := 0
	for i, tg := range targets {
		if len(pending) == 0 || sessions >= t.mxSessionLimit() || ctx.Err() != nil {
			break
		}
		lvl, r := st.hostTLSPolicy(ctx, tg)
		if r != nil {
			last = r
			continue
		}
		s, r, connected := st.open(ctx, tg, lvl)
		if connected {
			sessions++
		}
		final := i == len(targets)-1 || sessions >= t.mxSessionLimit()
		if s == nil {
			last = r
			if final && r.Status == Bounced {
				fill(*r)
			}
			continue
		}
		pending = st.transact(ctx, s, pending, results, final)
		st.release(s)
		last = nil
	}
	if len(pending) > 0 {
		if last == nil {
			// Recipients kept for a next server that was not tried:
			// their last (soft) result stands.
			for _, i := range pending {
				if results[i].Text == "" {
					results[i] = *mxFail(Deferred, "4.4.1", "delivery temporarily suspended: no more servers to try")
				}
			}
			return
		}
		r := *last
		if r.Status == Bounced {
			r.Status = Deferred
			r.DSN = "4" + r.DSN[1:]
		}
		if ctx.Err() != nil {
			r = *mxFail(Deferred, "4.4.2", "delivery interrupted: %v", ctx.Err())
		}
		fill(r)
	}
	return
}

func smtpTruncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Close closes the idle cached connections and stops caching.
func (t *SMTPTransport) Close() error {
	t.cacheMu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.cacheMu.Unlock()
	for _, ss := range idle {
		for _, s := range ss {
			s.quit()
		}
	}
	return nil
}
