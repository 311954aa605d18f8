package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// newAuthService is Dovecot's auth settings (auth_mechanisms,
// disable_plaintext_auth, login_trusted_networks, auth_failure_delay,
// auth_username_format) as an auth.Service over the passdb.
func newAuthService(c *config.Config, u *users, log *slog.Logger) (*auth.Service, error) {
	trusted, err := trustedNetworks(c.List("login_trusted_networks"))
	if err != nil {
		return nil, err
	}
	var mechs []string
	for _, m := range c.List("auth_mechanisms") {
		mechs = append(mechs, strings.ToUpper(m))
	}
	delay := c.Duration("auth_failure_delay")
	if delay == 0 {
		delay = -1 // configured as 0: no delay (auth.Service's zero means its default)
	}
	return &auth.Service{
		PassDB:         u.pass,
		AuthMechanisms: mechs,
		// Dovecot's ssl = required implies disable_plaintext_auth.
		AllowPlaintext:  !c.Bool("disable_plaintext_auth") && !strings.EqualFold(c.Get("ssl"), "required"),
		TrustedNetworks: trusted,
		FailureDelay:    delay,
		UsernameFormat:  c.Get("auth_username_format"),
		DefaultRealm:    c.Get("auth_default_realm"),
		Hostname:        c.Get("myhostname"),
		Logger:          log,
		Verbose:         c.Bool("auth_verbose"),
	}, nil
}

// meteredAuth counts failed authentications and their latency.
type meteredAuth struct {
	a   auth.Authenticator
	m   *metrics
	log *slog.Logger // for Dovecot's login lines; nil: none
}

func (a *meteredAuth) Mechanisms(c *auth.ConnInfo) []string { return a.a.Mechanisms(c) }

func (a *meteredAuth) PlaintextAllowed(c *auth.ConnInfo) bool { return a.a.PlaintextAllowed(c) }

func (a *meteredAuth) observe(c *auth.ConnInfo, start time.Time, err error) {
	svc := "unknown"
	if c != nil && c.Service != "" {
		svc = c.Service
	}
	a.m.authTime.WithLabelValues(svc).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, auth.ErrAborted) {
		a.m.authFailures.WithLabelValues(svc).Inc()
	}
}

func (a *meteredAuth) Login(ctx context.Context, c *auth.ConnInfo, user, password string) (*auth.Identity, error) {
	start := time.Now()
	id, err := a.a.Login(ctx, c, user, password)
	a.observe(c, start, err)
	if err == nil {
		dovecotLoginLine(a.log, c, "PLAIN", id)
	}
	return id, err
}

func (a *meteredAuth) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	s, err := a.a.NewSASL(ctx, mech, c)
	if err != nil {
		return nil, err
	}
	return &meteredSASL{SASLSession: s, a: a, c: c, mech: mech, start: time.Now()}, nil
}

type meteredSASL struct {
	auth.SASLSession
	a     *meteredAuth
	c     *auth.ConnInfo
	mech  string
	start time.Time
}

func (s *meteredSASL) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	ch, done, err := s.SASLSession.Next(ctx, response)
	if done || err != nil {
		s.a.observe(s.c, s.start, err)
	}
	if done && err == nil {
		dovecotLoginLine(s.a.log, s.c, s.mech, s.SASLSession.Identity())
	}
	return ch, done, err
}
