package smtp

import (
	"crypto/tls"

	"github.com/yubinmail/yubin/auth/authn"
)

// NewMTA returns the port 25 (MX) listener of a typical Postfix setup: no AUTH offered (AUTH
// is answered "503 5.5.1 Error: authentication not enabled"),
// opportunistic STARTTLS when tlsConfig is set, and recipients judged by
// policy, which should be the restriction list that accepts local
// destinations and relays only for mynetworks
// ("permit_mynetworks, reject_unauth_destination").
func NewMTA(hostname string, tlsConfig *tls.Config, policy Policy, backend Backend) *Server {
	return &Server{
		Hostname:  hostname,
		Service:   "smtp",
		TLSConfig: tlsConfig,
		Policy:    policy,
		Backend:   backend,
	}
}

// NewSubmission returns the submission (587, RFC 6409) listener of a typical setup:
// STARTTLS required before AUTH and MAIL (smtpd_tls_security_level =
// encrypt), AUTH offered only over TLS (smtpd_tls_auth_only) and
// required before MAIL, so only authenticated users relay
// ("permit_sasl_authenticated, reject"). policy may add more (for
// example reject_sender_login_mismatch) or be nil.
func NewSubmission(hostname string, tlsConfig *tls.Config, authn authn.Authenticator, policy Policy, backend Backend) *Server {
	return &Server{
		Hostname:      hostname,
		Service:       "submission",
		TLSConfig:     tlsConfig,
		TLSRequired:   true,
		TLSAuthOnly:   true,
		Authenticator: authn,
		AuthRequired:  true,
		Policy:        policy,
		Backend:       backend,
	}
}

// NewSubmissions returns the submissions (465, RFC 8314) listener of a typical setup:
// implicit TLS (serve it with ListenAndServeTLS or a tls.NewListener) and
// AUTH required before MAIL.
func NewSubmissions(hostname string, tlsConfig *tls.Config, authn authn.Authenticator, policy Policy, backend Backend) *Server {
	s := NewSubmission(hostname, tlsConfig, authn, policy, backend)
	s.Service = "submissions"
	return s
}
