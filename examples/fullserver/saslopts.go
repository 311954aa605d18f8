package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// saslOptions are Postfix's SASL security options as its Dovecot SASL
// client knows them (smtpd_sasl_security_options on connections without
// TLS, smtpd_sasl_tls_security_options with TLS): a mechanism with a
// property an option excludes is not offered.
type saslOptions struct {
	noPlaintext, noActive, noDictionary, noAnonymous, mutualAuth bool
}

func parseSASLOptions(v string) (saslOptions, error) {
	var o saslOptions
	for _, w := range config.SplitList(v) {
		switch strings.ToLower(w) {
		case "noplaintext":
			o.noPlaintext = true
		case "noactive":
			o.noActive = true
		case "nodictionary":
			o.noDictionary = true
		case "noanonymous":
			o.noAnonymous = true
		case "mutual_auth":
			o.mutualAuth = true
		default:
			return o, fmt.Errorf("unknown SASL security option %q (want noplaintext, noactive, nodictionary, noanonymous or mutual_auth)", w)
		}
	}
	return o, nil
}

func checkSASLOptions(v string) error {
	_, err := parseSASLOptions(v)
	return err
}

// allows reports whether mechanism mech may be offered, by the
// properties Dovecot's auth gives its mechanisms (OAUTHBEARER and
// XOAUTH2 send a bearer token in the clear, so count as plaintext).
func (o saslOptions) allows(mech string) bool {
	var plaintext, active, dictionary, anonymous, mutual bool
	switch strings.ToUpper(mech) {
	case "PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2":
		plaintext = true
	case "CRAM-MD5":
		dictionary, active = true, true
	case "ANONYMOUS":
		anonymous = true
	case "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS":
		mutual = true
	}
	return !(o.noPlaintext && plaintext || o.noActive && active || o.noDictionary && dictionary ||
		o.noAnonymous && anonymous || o.mutualAuth && !mutual)
}

// saslFiltered offers an SMTP listener only the mechanisms its SASL
// security options allow; the smtp server refuses AUTH with any other.
type saslFiltered struct {
	auth.Authenticator
	plain, tls saslOptions
}

// newSASLFiltered reads a listener's smtpd_sasl_security_options and
// smtpd_sasl_tls_security_options.
func newSASLFiltered(a auth.Authenticator, v *config.Config) (*saslFiltered, error) {
	plain, err := parseSASLOptions(v.Get("smtpd_sasl_security_options"))
	if err != nil {
		return nil, fmt.Errorf("smtpd_sasl_security_options: %w", err)
	}
	tls, err := parseSASLOptions(v.Get("smtpd_sasl_tls_security_options"))
	if err != nil {
		return nil, fmt.Errorf("smtpd_sasl_tls_security_options: %w", err)
	}
	return &saslFiltered{Authenticator: a, plain: plain, tls: tls}, nil
}

func (a *saslFiltered) options(c *auth.ConnInfo) saslOptions {
	if c != nil && c.TLS != nil {
		return a.tls
	}
	return a.plain
}

// Mechanisms implements auth.Authenticator.
func (a *saslFiltered) Mechanisms(c *auth.ConnInfo) []string {
	o := a.options(c)
	var out []string
	for _, m := range a.Authenticator.Mechanisms(c) {
		if o.allows(m) {
			out = append(out, m)
		}
	}
	return out
}

// NewSASL implements auth.Authenticator.
func (a *saslFiltered) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	if !a.options(c).allows(mech) {
		return nil, auth.ErrUnsupportedMechanism
	}
	return a.Authenticator.NewSASL(ctx, mech, c)
}
