package smtp

import (
	"context"
	"crypto/tls"
	"errors"
)

// TLSPolicy is what a sending Client does about STARTTLS, as Postfix's
// smtp_tls_security_level says it.
type TLSPolicy int

const (
	// TLSMay uses STARTTLS when the server offers it and sends in
	// plaintext when it does not ("may", opportunistic). The server's
	// certificate is not verified unless the config asks for it, as
	// Postfix does at this level: encryption without authentication.
	TLSMay TLSPolicy = iota
	// TLSEncrypt requires STARTTLS and a verified certificate ("secure";
	// Postfix's "encrypt" plus verification): without either, nothing is
	// sent.
	TLSEncrypt
	// TLSNone never uses STARTTLS ("none").
	TLSNone
)

// ErrTLSRequired is returned by HelloTLS when the policy requires TLS and
// the server does not offer STARTTLS.
var ErrTLSRequired = errors.New("smtp: server does not offer STARTTLS and TLS is required")

// HelloTLS sends EHLO and then, following policy, STARTTLS (and EHLO
// again). With TLSMay a nil config means no certificate verification;
// with TLSEncrypt a nil config verifies against the dialled host. A
// failed handshake closes the connection and returns the error: a
// sender with TLSMay may then retry in plaintext on a new connection, as
// Postfix does.
func (c *Client) HelloTLS(ctx context.Context, name string, policy TLSPolicy, config *tls.Config) error {
	if err := c.Hello(ctx, name); err != nil {
		return err
	}
	if policy == TLSNone || c.TLS() {
		return nil
	}
	if !c.Extensions().Has(ExtStartTLS) {
		if policy == TLSEncrypt {
			return ErrTLSRequired
		}
		return nil
	}
	if policy == TLSMay && config == nil {
		config = &tls.Config{InsecureSkipVerify: true}
	}
	return c.StartTLS(ctx, config)
}
