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
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
	"github.com/yubinmail/yubin/store"
)

// dnsCache answers the restrictions' MX, A and PTR lookups (DNSBL answers
// have the Policy's own cache) for every listener and across reloads, so
// that reject_unknown_sender_domain does not ask the network at every
// RCPT; a minute, as Postfix's smtpd caches its address resolutions.
var dnsCache = restrict.NewCachingResolver(net.DefaultResolver, time.Minute, 0)

// newPolicy builds the restrictions of one SMTP listener from its view of
// the configuration (its master.cf-style overrides included).
func newPolicy(v *config.Config, log *slog.Logger) (*restrict.Policy, error) {
	params := restrict.Params{}
	for _, p := range v.Schema().Params() {
		if !p.Runtime {
			params[p.Name] = v.Raw(p.Name)
		}
	}
	opts := []restrict.Option{restrict.WithResolver(dnsCache)}
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
}

func (p *policyRef) Check(ctx context.Context, stage restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
	start := time.Now()
	d, err := p.cur.Load().Check(ctx, stage, req)
	st := strings.ToLower(stage.String())
	p.m.policyTime.WithLabelValues(st).Observe(time.Since(start).Seconds())
	if d.Action != restrict.Dunno {
		p.m.decisions.WithLabelValues(st, strings.ToLower(d.Action.String())).Inc()
	}
	return d, err
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
func (h *host) newSMTP(v *config.Config, authn auth.Authenticator, u *users, stores store.Backend, deliver *lmtp.StoreDeliverer) (*smtp.Server, error) {
	svc := v.ServiceName()
	log := h.log.With("service", svc)
	pol, err := newPolicy(v, log)
	if err != nil {
		return nil, err
	}
	ref := &policyRef{m: h.m}
	ref.cur.Store(pol)
	h.reloader = append(h.reloader, func(c *config.Config) error {
		p, err := newPolicy(c.Service(svc), log)
		if err != nil {
			return err
		}
		ref.cur.Store(p)
		return nil
	})
	srv := &smtp.Server{
		Hostname:          v.Get("myhostname"),
		Banner:            v.Get("smtpd_banner"),
		Service:           svc,
		Backend:           &smtpBackend{h: h, svc: svc, pol: ref, users: u, deliver: deliver},
		Policy:            ref,
		TLSConfig:         h.tlsConf,
		TLSRequired:       v.Get("smtpd_tls_security_level") == "encrypt",
		TLSAuthOnly:       v.Bool("smtpd_tls_auth_only") || v.Get("smtpd_tls_security_level") == "encrypt",
		EnableVRFY:        !v.Bool("disable_vrfy_command"),
		NoDelayReject:     !v.Bool("smtpd_delay_reject"),
		TLSReceivedHeader: v.Bool("smtpd_tls_received_header"),
		MaxMessageBytes:   v.Int("message_size_limit"),
		MaxRecipients:     int(v.Int("smtpd_recipient_limit")),
		MaxConnsPerClient: -1, // the Limiter counts, exempting smtpd_client_event_limit_exceptions
		ReadTimeout:       v.Duration("smtpd_timeout"),
		DataTimeout:       v.Duration("smtpd_timeout"),
		Logger:            log,
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
	if v.Bool("smtpd_sasl_auth_enable") {
		srv.Auth = authn
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

// smtpBackend delivers accepted mail: local recipients (after alias and
// virtual alias expansion) into their stores, as Postfix's local or
// virtual agent would; other domains would go to the outbound queue,
// which does not exist yet, so they are refused at RCPT with a temporary
// error rather than accepted and dropped.
type smtpBackend struct {
	h       *host
	svc     string
	pol     *policyRef
	users   *users
	deliver *lmtp.StoreDeliverer
}

func (b *smtpBackend) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return &smtpSession{b: b}, nil
}

type smtpSession struct {
	b *smtpBackend
}

// localTargets resolves rcpt to the final addresses it is delivered to
// (after virtual alias and alias expansion), or returns the SMTP error
// to answer.
func (s *smtpSession) localTargets(ctx context.Context, rcpt string) ([]restrict.Target, error) {
	d, err := s.b.pol.cur.Load().Resolve(ctx, rcpt)
	if errors.Is(err, restrict.ErrUnknownRecipient) {
		return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown in virtual alias table"}
	}
	if errors.Is(err, restrict.ErrAliasLoop) {
		return nil, &smtp.Error{Code: 554, Enhanced: smtp.Enhanced{5, 4, 6}, Message: "<" + rcpt + ">: Recipient address rejected: alias expansion loop"}
	}
	if err != nil {
		return nil, &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "<" + rcpt + ">: Temporary lookup failure"}
	}
	var out []restrict.Target
	for _, t := range d.Targets {
		if t.Command != "" || t.File != "" {
			return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 3, 0}, Message: "<" + rcpt + ">: delivery to commands and files is not supported"}
		}
		switch deliveryKind(t) {
		case viaStore, viaLMTP:
			out = append(out, t)
		case viaError:
			return nil, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + ">: Recipient address rejected: User unknown"}
		default:
			// Mail for another domain from an allowed client: it would
			// go to the outbound queue, which this host does not have
			// yet. Refuse with a temporary error; never accept and drop.
			return nil, &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 2}, Message: "<" + rcpt + ">: relay to other domains is not available on this server yet (no outbound queue)"}
		}
	}
	return out, nil
}

// checkUserDB reports whether a target's user is checked against the
// userdb at RCPT time. Store delivery needs the user; for LMTP delivery
// the LMTP server has the last word, and an administrator who set
// local_recipient_maps (virtual_mailbox_maps for virtual domains) has
// chosen how recipients are validated: "local_recipient_maps =" turns
// the check off, as in Postfix.
func (s *smtpSession) checkUserDB(t restrict.Target) bool {
	if deliveryKind(t) != viaLMTP {
		return true
	}
	param := "local_recipient_maps"
	if t.Class == restrict.ClassVirtualMailbox {
		param = "virtual_mailbox_maps"
	}
	return !s.b.h.config().Service(s.b.svc).IsSet(param)
}

// Rcpt implements smtp.RcptChecker: after the restrictions accepted the
// recipient, every local address it expands to must be a user.
func (s *smtpSession) Rcpt(ctx context.Context, to string, _ *smtp.RcptOptions) error {
	targets, err := s.localTargets(ctx, to)
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

// delivery is one final address of a message.
type delivery struct {
	orig   string // the RCPT TO address it came from
	target restrict.Target
	err    error // nil once delivered
}

// Data spools the message to a file, then delivers one copy per final
// address: into the store, or over LMTP (one transaction per LMTP
// destination) when mailbox_transport, virtual_transport or
// transport_maps say so. It returns nil (250) only when every copy was
// stored or accepted by its LMTP server.
func (s *smtpSession) Data(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
	start := time.Now()
	sp, err := s.b.h.spoolMessage(msg)
	if err != nil {
		return err
	}
	defer sp.Close()
	size, content := sp.Size(), sp.Reader
	// Content checks' actions are known now that the message was read.
	rcpts := env.To
	switch act := env.Actions; {
	case act.Hold:
		return s.hold(env, content)
	case act.Filter != "":
		return s.filter(ctx, env, act.Filter, content)
	case act.Redirect != "":
		rcpts = []smtp.Recipient{{Addr: act.Redirect}}
	}
	seen := map[string]bool{}
	var ds []*delivery
	for _, r := range rcpts {
		targets, err := s.localTargets(ctx, r.Addr)
		if err != nil {
			return err
		}
		for _, t := range targets {
			key := strings.ToLower(t.Address)
			if seen[key] {
				continue
			}
			seen[key] = true
			ds = append(ds, &delivery{orig: r.Addr, target: t})
		}
	}
	// LMTP destinations, each with its recipients in order.
	var hops []string
	byHop := map[string][]*delivery{}
	for _, d := range ds {
		t := d.target
		if deliveryKind(t) == viaLMTP {
			if byHop[t.Nexthop] == nil {
				hops = append(hops, t.Nexthop)
			}
			byHop[t.Nexthop] = append(byHop[t.Nexthop], d)
			continue
		}
		lenv := &lmtp.Envelope{ID: env.QueueID, From: env.From, To: []string{t.Address}, Size: size, Received: env.Received, Helo: env.Conn.Helo, RemoteAddr: env.Conn.RemoteAddr, TLS: env.Conn.TLS}
		hdr := "Return-Path: <" + env.From + ">\r\nDelivered-To: " + t.Address + "\r\n"
		body := io.MultiReader(strings.NewReader(hdr), content())
		d.err = s.b.deliver.Deliver(ctx, lenv, t.Address, body)
		s.logDelivery(env, d, "local", "delivered to maildir", start)
	}
	for _, hop := range hops {
		group := byHop[hop]
		to := make([]string, len(group))
		for i, d := range group {
			to[i] = d.target.Address
		}
		res := s.b.h.deliverLMTP(ctx, hop, env.From, to, content)
		for i, d := range group {
			d.err = res[i]
			s.logDelivery(env, d, "lmtp:"+hop, "delivered via lmtp:"+hop, start)
		}
	}
	s.b.h.m.deliveryTime.WithLabelValues(s.b.svc).Observe(time.Since(start).Seconds())
	var replies []*smtp.Error
	for _, d := range ds {
		if d.err != nil {
			replies = append(replies, replyFor(d.err, d.orig, d.target.Address))
		}
	}
	if e := worstReply(replies); e != nil {
		return e
	}
	return nil
}

// logDelivery writes Postfix's delivery line and counts the delivery.
func (s *smtpSession) logDelivery(env *smtp.Envelope, d *delivery, relay, how string, start time.Time) {
	h := s.b.h
	if d.err == nil {
		h.m.deliveries.WithLabelValues(s.b.svc, "sent").Inc()
		h.log.Info(fmt.Sprintf("%s: to=<%s>, orig_to=<%s>, relay=%s, delay=%.2f, status=sent (%s)", env.QueueID, d.target.Address, d.orig, relay, time.Since(start).Seconds(), how), "service", s.b.svc)
		return
	}
	status := "deferred"
	var le *lmtp.Error
	if errors.As(d.err, &le) && le.Code >= 500 {
		status = "bounced"
	}
	h.m.deliveries.WithLabelValues(s.b.svc, status).Inc()
	h.log.Warn(fmt.Sprintf("%s: to=<%s>, orig_to=<%s>, relay=%s, delay=%.2f, status=%s (%v)", env.QueueID, d.target.Address, d.orig, relay, time.Since(start).Seconds(), status, d.err), "service", s.b.svc)
}

// spoolDir is where messages wait between DATA and delivery.
func (h *host) spoolDir() string {
	return h.config().Get("data_directory") + "/tmp"
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
