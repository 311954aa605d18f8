package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
)

// dnsCache answers the restrictions' MX, A and PTR lookups (DNSBL answers
// have the Policy's own cache) for every listener and across reloads, so
// that reject_unknown_sender_domain does not ask the network at every
// RCPT; a minute, as Postfix's smtpd caches its address resolutions.
var dnsCache = restrict.NewCachingResolver(net.DefaultResolver, time.Minute, 0)

// newPolicy builds the restrictions of one SMTP listener from its view of
// the configuration (its master.cf-style overrides included).
func newPolicy(v *config.Config, log *slog.Logger) (*restrict.Policy, error) {
	// restrict reads its own parameters (and the smtp server reads
	// some through Policy.Params): the values are handed over
	// unrecorded, then restrict's names (the restriction classes the
	// file defines among them) are recorded as read in this view.
	params := restrict.Params{}
	unlogged := v.WithReadLog(nil)
	for _, p := range v.Schema().Params() {
		if !p.Runtime {
			params[p.Name] = unlogged.Raw(p.Name)
		}
	}
	for _, name := range v.Defined() {
		params[name] = unlogged.Raw(name)
	}
	nets, err := styleNetworks(v, net.InterfaceAddrs)
	if err != nil {
		return nil, err
	}
	if nets != "" {
		params["mynetworks"] = nets
	}
	// Reading each through v records it and every $name its value
	// refers to.
	for _, name := range append(restrictReads(v.Schema()), v.Defined()...) {
		v.Get(name) // restrict compiles every class
	}
	opts := []restrict.Option{restrict.WithResolver(dnsCache), restrict.WithPolicyDialer(policyDialer(v, log))}
	if log != nil {
		opts = append(opts, restrict.WithLogger(log))
	}
	pol, err := restrict.New(params, opts...)
	if err != nil {
		// restrict names the parameter ("smtpd_recipient_restrictions:
		// element 3 ..."); point at the line that set it.
		where := v.ServiceName()
		if name, _, ok := strings.Cut(err.Error(), ":"); ok {
			if pos := v.Pos(name).String(); pos != "" {
				where = pos
			}
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return pol, nil
}

// policyRef is the current policy of a listener; SIGHUP swaps in a new
// one (tables re-read) while sessions go on. It counts decisions.
type policyRef struct {
	cur atomic.Pointer[restrict.Policy]
	m   *metrics
	// stageTime holds the duration histogram of each stage, looked up
	// once instead of at every check (a label lookup hashes and locks).
	stageTime [restrict.StageEndOfData + 1]atomic.Pointer[prometheus.Observer]
}

func (p *policyRef) Check(ctx context.Context, stage restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
	start := time.Now()
	d, err := p.cur.Load().Check(ctx, stage, req)
	p.stageObserver(stage).Observe(time.Since(start).Seconds())
	if d.Action != restrict.Dunno {
		p.m.decisions.WithLabelValues(strings.ToLower(stage.String()), strings.ToLower(d.Action.String())).Inc()
	}
	return d, err
}

// stageObserver returns the restriction duration histogram of stage.
func (p *policyRef) stageObserver(stage restrict.Stage) prometheus.Observer {
	if stage < 0 || int(stage) >= len(p.stageTime) {
		return p.m.policyTime.WithLabelValues(strings.ToLower(stage.String()))
	}
	if o := p.stageTime[stage].Load(); o != nil {
		return *o
	}
	o := p.m.policyTime.WithLabelValues(strings.ToLower(stage.String()))
	p.stageTime[stage].Store(&o)
	return o
}

// CheckHeaders runs the current policy's header_checks
// (smtp.ContentChecker).
func (p *policyRef) CheckHeaders(ctx context.Context, hdrs []restrict.HeaderLine) (restrict.Decision, error) {
	return p.counted("header", func() (restrict.Decision, error) { return p.cur.Load().CheckHeaders(ctx, hdrs) })
}

// CheckBody runs the current policy's body_checks on one body line
// (smtp.ContentChecker).
func (p *policyRef) CheckBody(ctx context.Context, line string) (restrict.Decision, error) {
	return p.counted("body", func() (restrict.Decision, error) { return p.cur.Load().CheckBody(ctx, line) })
}

// NewContentScan starts the current policy's MIME-aware inspection of
// one message (smtp.ContentScanner: header_checks, mime_header_checks,
// nested_header_checks, body_checks per body part), counting its
// decisions as the header and body stages.
func (p *policyRef) NewContentScan() *restrict.ContentScan {
	s := p.cur.Load().NewContentScan()
	s.Observe = func(d restrict.Decision) {
		stage := "body"
		if strings.Contains(d.Restriction, "header") {
			stage = "header"
		}
		p.m.decisions.WithLabelValues(stage, strings.ToLower(d.Action.String())).Inc()
	}
	return s
}

// InspectsContent reports whether the current policy has content checks,
// so the SMTP server skips inspection when it has none.
func (p *policyRef) InspectsContent() bool { return p.cur.Load().InspectsContent() }

// Params returns the current policy's parameters, so the SMTP server
// skips content inspection when no header_checks or body_checks are set.
func (p *policyRef) Params() restrict.Params { return p.cur.Load().Params() }

// counted counts a content check's refusals as decisions of its stage.
func (p *policyRef) counted(stage string, check func() (restrict.Decision, error)) (restrict.Decision, error) {
	d, err := check()
	if d.Action != restrict.Dunno && d.Code != 0 {
		p.m.decisions.WithLabelValues(stage, strings.ToLower(d.Action.String())).Inc()
	}
	return d, err
}

// newSMTP builds one SMTP listener: seed 001's policies come from the
// configuration (smtpd_sasl_auth_enable, smtpd_tls_security_level,
// smtpd_recipient_restrictions, ... with per-listener overrides).
func (h *host) newSMTP(v *config.Config, authn auth.Authenticator, u *users, deliver *lmtp.StoreDeliverer, q *queue.Queue) (*smtp.Server, error) {
	svc := v.ServiceName()
	log := serviceLog(h.log, v)
	pol, err := newPolicy(v, log)
	if err != nil {
		return nil, err
	}
	ref := &policyRef{m: h.m}
	ref.cur.Store(pol)
	ma, err := newMsgAuth(v, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", svc, err)
	}
	h.reloader = append(h.reloader, func(c *config.Config) error {
		p, err := newPolicy(c.Service(svc), log)
		if err != nil {
			return err
		}
		ref.cur.Store(p)
		return nil
	})
	srv := &smtp.Server{
		CommandHook:           h.m.commandHook(svc),
		Hostname:              v.Get("myhostname"),
		Banner:                v.Get("smtpd_banner"),
		Service:               svc,
		Backend:               &smtpBackend{h: h, svc: svc, pol: ref, users: u, deliver: deliver, queue: q, enqueueTime: h.m.deliveryTime.WithLabelValues(svc)},
		Policy:                ref,
		TLSConfig:             h.tlsConf,
		TLSRequired:           v.Get("smtpd_tls_security_level") == "encrypt",
		TLSAuthOnly:           v.Bool("smtpd_tls_auth_only") || v.Get("smtpd_tls_security_level") == "encrypt",
		EnableVRFY:            !v.Bool("disable_vrfy_command"),
		StrictRFC821Envelopes: v.Bool("strict_rfc821_envelopes"),
		NoDelayReject:         !v.Bool("smtpd_delay_reject"),
		TLSReceivedHeader:     v.Bool("smtpd_tls_received_header"),
		BackendLogsQueued:     true, // the queue logs qmgr's "(queue active)" line
		MaxMessageBytes:       v.Int("message_size_limit"),
		MaxRecipients:         int(v.Int("smtpd_recipient_limit")),
		MaxConnsPerClient:     -1, // the Limiter counts, exempting smtpd_client_event_limit_exceptions
		ProcessLimit:          int(v.Int("default_process_limit")),
		ReadTimeout:           v.Duration("smtpd_timeout"),
		DataTimeout:           v.Duration("smtpd_timeout"),
		Logger:                log,
		// anvil's limits as the configuration sets them when the
		// listener starts (a reload keeps the running counters and limits).
		Limiter:                pol.NewLimiter(),
		ForbidUnauthPipelining: v.Bool("smtpd_forbid_unauth_pipelining"),
		MaxHeaderBytes:         int(v.Int("header_size_limit")),
		MaxBodyCheckBytes:      int(v.Int("body_checks_size_limit")),
	}
	if v.Get("smtpd_tls_security_level") == "none" {
		srv.TLSConfig = nil
	}
	be := srv.Backend.(*smtpBackend)
	be.auth.Store(ma)
	h.reloader = append(h.reloader, func(c *config.Config) error {
		ma, err := newMsgAuth(c.Service(svc), log)
		if err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		be.auth.Store(ma)
		return nil
	})
	if v.Bool("smtpd_sasl_auth_enable") {
		fa, err := newSASLFiltered(authn, v)
		if err != nil {
			return nil, err
		}
		srv.Authenticator = fa
		// submission: AUTH before MAIL, as seed 001's
		// "permit_sasl_authenticated, reject" means in practice.
		srv.AuthRequired = strings.HasPrefix(strings.TrimSpace(v.Get("smtpd_recipient_restrictions")), "permit_sasl_authenticated") &&
			strings.HasSuffix(strings.TrimSpace(v.Get("smtpd_recipient_restrictions")), "reject")
	}
	if srv.MaxMessageBytes == 0 {
		srv.MaxMessageBytes = -1 // message_size_limit = 0: no limit
	}
	return srv, nil
}

// smtpBackend hands accepted mail to the queue, after alias and
// virtual alias expansion, as Postfix's smtpd and cleanup do: the
// client gets 250 once the message and its envelope are on disk, and the
// queue delivers (into the store, over LMTP, to other hosts over SMTP).
type smtpBackend struct {
	h       *host
	svc     string
	pol     *policyRef
	users   *users
	deliver *lmtp.StoreDeliverer
	queue   *queue.Queue
	// enqueueTime is yubin_delivery_duration_seconds of the service.
	enqueueTime prometheus.Observer
	// auth signs and checks messages at the end of DATA (msgauth.go);
	// nil: neither. SIGHUP swaps it (keys re-read).
	auth atomic.Pointer[msgAuth]
}

func (b *smtpBackend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return &smtpSession{b: b}, nil
}

type smtpSession struct {
	b *smtpBackend
	// resolved remembers what RCPT resolved, for DATA (or BDAT) to
	// queue without resolving again, while the policy is resolvedBy.
	resolved   map[string][]restrict.Target
	resolvedBy *restrict.Policy
}

// maxResolved bounds smtpSession.resolved (a session with more
// recipients resolves the others again at DATA).
const maxResolved = 1000

// targets resolves rcpt to the final addresses it is delivered to
// (after virtual alias and alias expansion), or returns the SMTP error
// to answer.
func (s *smtpSession) targets(ctx context.Context, rcpt string) ([]restrict.Target, error) {
	pol := s.b.pol.cur.Load()
	if s.resolvedBy == pol {
		if t, ok := s.resolved[rcpt]; ok {
			return t, nil
		}
	}
	t, err := s.resolve(ctx, pol, rcpt)
	if err != nil {
		return nil, err
	}
	if s.resolvedBy != pol {
		s.resolved, s.resolvedBy = nil, pol
	}
	if s.resolved == nil {
		s.resolved = map[string][]restrict.Target{}
	}
	if len(s.resolved) < maxResolved {
		s.resolved[rcpt] = t
	}
	return t, nil
}

// resolve resolves rcpt with pol (see targets).
func (s *smtpSession) resolve(ctx context.Context, pol *restrict.Policy, rcpt string) ([]restrict.Target, error) {
	d, err := pol.Resolve(ctx, rcpt)
	if errors.Is(err, restrict.ErrUnknownRecipient) {
		return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown in virtual alias table"}
	}
	if errors.Is(err, restrict.ErrAliasLoop) {
		return nil, &smtp.Error{Code: 554, Enhanced: smtp.Enhanced{5, 4, 6}, Message: "<" + rcpt + ">: Recipient address rejected: alias expansion loop"}
	}
	if err != nil {
		return nil, &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "<" + rcpt + ">: Temporary lookup failure"}
	}
	for _, t := range d.Targets {
		if t.Command != "" || t.File != "" {
			return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 3, 0}, Message: "<" + rcpt + ">: delivery to commands and files is not supported"}
		}
		if t.Transport == "error" {
			return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown"}
		}
	}
	return d.Targets, nil
}

// checkUserDB reports whether a target's user is checked against the
// userdb at RCPT time: mail the store takes must be for a user. For
// LMTP delivery the LMTP server has the last word, and an administrator
// who set local_recipient_maps (virtual_mailbox_maps for virtual
// domains) has chosen how recipients are validated:
// "local_recipient_maps =" turns the check off, as in Postfix. Mail
// for other hosts is not checked here.
func (s *smtpSession) checkUserDB(t restrict.Target) bool {
	local := t.Class == restrict.ClassLocal || t.Class == restrict.ClassVirtualMailbox
	switch transportName(t) {
	case "local", "virtual":
		return local
	case "lmtp":
		if !local {
			return false
		}
		param := "local_recipient_maps"
		if t.Class == restrict.ClassVirtualMailbox {
			param = "virtual_mailbox_maps"
		}
		return !s.b.h.config().Service(s.b.svc).IsSet(param)
	}
	return false
}

// Rcpt implements smtp.RcptChecker: after the restrictions accepted the
// recipient, every local address it expands to must be a user.
func (s *smtpSession) Rcpt(ctx context.Context, to string, _ *smtp.RcptOptions) error {
	targets, err := s.targets(ctx, to)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if !s.checkUserDB(t) {
			continue
		}
		if err := s.b.deliver.Rcpt(ctx, nil, t.Address); err != nil {
			var le *lmtp.Error
			if errors.As(err, &le) && le.Code >= 500 {
				return &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: User unknown in local recipient table"}
			}
			return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "<" + to + ">: Temporary lookup failure"}
		}
	}
	return nil
}

// Data queues the message for its final recipients. The restrictions'
// actions apply as Postfix's cleanup applies them: HOLD puts the message
// in the hold queue (HOLD wins over the others), FILTER routes every
// recipient to the content filter (transport:nexthop), REDIRECT replaces
// the recipients. 250 is answered only after the queue has the message
// on disk.
func (s *smtpSession) Data(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
	start := time.Now()
	authHold := false
	if a := s.b.auth.Load(); a != nil {
		m, hold, free, err := a.apply(ctx, env, msg)
		if err != nil {
			return err
		}
		defer free()
		msg, authHold = m, hold
	}
	qenv := &queue.Envelope{
		ID: env.QueueID,
		// As cleanup writes it: a bare "user" gets @$myorigin.
		From:  s.b.pol.cur.Load().Canonical(env.From),
		Ret:   env.MailOpts.Ret,
		EnvID: env.MailOpts.EnvID,
		Body:  env.MailOpts.Body,
		UTF8:  env.MailOpts.UTF8,
		Auth:  env.Conn.AuthUser,
		Client: queue.Client{
			Addr:     clientIP(env.Conn.RemoteAddr),
			Name:     env.Conn.ClientName,
			Helo:     env.Conn.Helo,
			Protocol: protocolName(&env.Conn),
		},
		Arrival: env.Received,
	}
	rcpts := env.To
	act := env.Actions
	switch {
	case act.Hold || authHold:
		qenv.Hold = true
	case act.Filter != "":
		transport, nexthop, _ := strings.Cut(act.Filter, ":")
		for _, r := range rcpts {
			qenv.Recipients = append(qenv.Recipients, queue.Recipient{Addr: r.Addr, Notify: r.Opts.Notify, ORcpt: r.Opts.ORcpt, Transport: transport, Nexthop: nexthop})
		}
	case act.Redirect != "":
		rcpts = []smtp.Recipient{{Addr: act.Redirect}}
	}
	if qenv.Recipients == nil {
		seen := map[string]bool{}
		for _, r := range rcpts {
			targets, err := s.targets(ctx, r.Addr)
			if err != nil {
				return err
			}
			for _, t := range targets {
				key := strings.ToLower(t.Address)
				if seen[key] {
					continue
				}
				seen[key] = true
				qr := queue.Recipient{Addr: t.Address, Notify: r.Opts.Notify, ORcpt: r.Opts.ORcpt}
				if !strings.EqualFold(t.Address, r.Addr) {
					qr.Orig = r.Addr
				}
				qenv.Recipients = append(qenv.Recipients, qr)
			}
		}
	}
	if len(qenv.Recipients) == 0 {
		return &smtp.Error{Code: 554, Enhanced: smtp.Enhanced{5, 5, 1}, Message: "Error: no valid recipients"}
	}
	_, err := s.b.queue.Enqueue(ctx, qenv, msg)
	s.b.enqueueTime.Observe(time.Since(start).Seconds())
	if errors.Is(err, smtp.ErrRefused) {
		return err // refused and logged by the SMTP server
	}
	if err != nil {
		s.b.h.log.Error(fmt.Sprintf("%s: queue file write error: %v", env.QueueID, err), "service", s.b.svc)
		if errors.Is(err, syscall.ENOSPC) {
			return &smtp.Error{Code: 452, Enhanced: smtp.Enhanced{4, 3, 1}, Message: "Insufficient system storage"}
		}
		return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "Error: queue file write error"}
	}
	if qenv.Hold {
		s.b.h.log.Info(fmt.Sprintf("%s: hold: from=<%s>, nrcpt=%d", env.QueueID, env.From, len(qenv.Recipients)), "service", s.b.svc)
	}
	return nil
}

// clientIP is the client's address without the port.
func clientIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// protocolName is the "with" protocol of RFC 3848 for a session.
func protocolName(c *smtp.ConnInfo) string {
	p := "SMTP"
	if c.ESMTP {
		p = "ESMTP"
		if c.TLS != nil {
			p += "S"
		}
		if c.AuthUser != "" {
			p += "A"
		}
	}
	return p
}

// meteredDeliverer counts LMTP deliveries.
type meteredDeliverer struct {
	d lmtp.Deliverer
	m *metrics
}

func (d *meteredDeliverer) Rcpt(ctx context.Context, env *lmtp.Envelope, rcpt string) error {
	return d.d.Rcpt(ctx, env, rcpt)
}

func (d *meteredDeliverer) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	start := time.Now()
	err := d.d.Deliver(ctx, env, rcpt, msg)
	status := "sent"
	if err != nil {
		status = "deferred"
		var le *lmtp.Error
		if errors.As(err, &le) && le.Code >= 500 {
			status = "bounced"
		}
	}
	d.m.deliveries.WithLabelValues("lmtp", status).Inc()
	d.m.deliveryTime.WithLabelValues("lmtp").Observe(time.Since(start).Seconds())
	return err
}
