package authn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
)

// ConnInfo describes the client connection an authentication happens on.
// Protocol servers fill it in; the policy in auth.Service uses it to decide
// whether plaintext mechanisms are allowed and to apply per-IP penalties.
type ConnInfo struct {
	Service    string               // "smtp", "submission", "imap", "pop3", "lmtp"
	LocalAddr  net.Addr             // the server's side of the connection
	RemoteAddr net.Addr             // the client's side of the connection
	TLS        *tls.ConnectionState // nil without TLS
}

// Identity is the result of a successful authentication.
type Identity struct {
	// User is the authenticated (and normalised) user name.
	User string
	// Fields holds extra passdb fields (for example "host", "proxy",
	// "userdb_home"), as Dovecot returns them.
	Fields map[string]string
}

// Authenticator is what protocol servers hold. *Service implements it
// (policy: disable_plaintext_auth, failure delay, penalties, username format).
type Authenticator interface {
	// Mechanisms lists the SASL mechanisms to advertise on this connection
	// (plaintext ones omitted where plaintext auth is not allowed).
	Mechanisms(c *ConnInfo) []string
	// PlaintextAllowed reports whether LOGIN/USER-PASS may be used on c
	// (TLS, loopback, or login_trusted_networks, or disable_plaintext_auth=no).
	PlaintextAllowed(c *ConnInfo) bool
	// NewSASL starts a server-side SASL exchange for mechanism mech.
	NewSASL(ctx context.Context, mech string, c *ConnInfo) (SASLSession, error)
	// Login verifies a user name and password (IMAP LOGIN, POP3 USER/PASS).
	Login(ctx context.Context, c *ConnInfo, user, password string) (*Identity, error)
}

// SASLSession is one server-side SASL exchange.
type SASLSession interface {
	// Next takes the client's response (nil for none; initial response
	// allowed) and returns the next challenge, or done=true when finished.
	Next(ctx context.Context, response []byte) (challenge []byte, done bool, err error)
	// Identity returns the authenticated identity; valid after done with
	// a nil error, nil otherwise.
	Identity() *Identity
}

// Errors returned by authenticators. Protocol servers map them to replies;
// none of them reveals whether a user exists.
var (
	// ErrAuthFailed means wrong credentials or an unknown user (never which).
	ErrAuthFailed = errors.New("auth: authentication failed")
	// ErrPlaintextNotAllowed means a plaintext mechanism was requested on
	// a connection that is not secured.
	ErrPlaintextNotAllowed = errors.New("auth: plaintext authentication not allowed on insecure connection")
	// ErrUnsupportedMechanism means the SASL mechanism is unknown or disabled.
	ErrUnsupportedMechanism = errors.New("auth: unsupported SASL mechanism")
	// ErrTempFail means a backend is unavailable: answer with a temporary
	// error and let the client retry.
	ErrTempFail = errors.New("auth: temporary authentication failure")
	// ErrAborted means the client cancelled the exchange by sending "*".
	ErrAborted = errors.New("auth: authentication aborted by client")
	// ErrUnknownUser is returned by UserDB and PassDB lookups for users
	// that do not exist. Authenticators turn it into ErrAuthFailed.
	ErrUnknownUser = errors.New("auth: unknown user")
	// ErrMalformed means the client's SASL response could not be parsed
	// (invalid base64, missing fields, NUL bytes where not allowed,
	// out-of-order steps, overlong data).
	ErrMalformed = errors.New("auth: malformed authentication data")
)

// UserDB gives delivery and protocols the user's mail home.
type UserDB interface {
	// LookupUser returns the user's record, or ErrUnknownUser.
	LookupUser(ctx context.Context, user string) (*User, error)
}

// User is a userdb record.
type User struct {
	Name          string
	Home          string
	MailLocation  string // Dovecot's "mail" field, e.g. "maildir:~/Maildir"
	UID, GID      int    // -1 when not set
	QuotaBytes    int64  // 0 means no limit
	QuotaMessages int64  // 0 means no limit
	// Fields holds all userdb fields, including the ones above in their
	// raw form ("home", "mail", "uid", "gid", "quota_rule").
	Fields map[string]string
}

// PassDB verifies logins.
type PassDB interface {
	// Authenticate checks password for user. It returns the passdb's
	// extra fields on success, ErrAuthFailed for a wrong password,
	// ErrUnknownUser for an unknown user, ErrTempFail when the backend
	// is unavailable.
	Authenticate(ctx context.Context, user, password string) (*Identity, error)
}

// CredentialLookup is implemented by a PassDB that can return stored
// credentials in a given scheme, for mechanisms that need them
// (CRAM-MD5, SCRAM, APOP). Found by type assertion on a PassDB.
type CredentialLookup interface {
	// LookupCredentials returns the stored credentials of user in scheme
	// (for example "PLAIN" or "CRAM-MD5", raw bytes, no "{SCHEME}"
	// prefix), ErrUnknownUser, or ErrUnsupportedScheme when the stored
	// hash cannot be converted into scheme.
	LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error)
}

type connInfoKey struct{}

// WithConnInfo returns a context carrying c, so that a PassDB can apply
// connection-dependent rules (allow_nets, %r, %s). auth.Service sets it.
func WithConnInfo(ctx context.Context, c *ConnInfo) context.Context {
	return context.WithValue(ctx, connInfoKey{}, c)
}

// ConnInfoFrom returns the ConnInfo stored by WithConnInfo, or nil.
func ConnInfoFrom(ctx context.Context) *ConnInfo {
	c, _ := ctx.Value(connInfoKey{}).(*ConnInfo)
	return c
}
