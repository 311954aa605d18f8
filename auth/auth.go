package auth

import (
	"context"
	"errors"

	"github.com/yubinmail/yubin/auth/authn"
)

// The contract between protocol servers and authentication lives in
// package authn, which links no password scheme, so that importing smtp,
// imap, pop3, lmtp or managesieve does not pull in argon2, bcrypt or
// md4. These names are the same types and values under auth, for
// programs that wire the implementations in.
type (
	// ConnInfo describes the client connection an authentication
	// happens on (authn.ConnInfo).
	ConnInfo = authn.ConnInfo
	// Identity is the result of a successful authentication
	// (authn.Identity).
	Identity = authn.Identity
	// Authenticator is what protocol servers hold; *Service implements
	// it (authn.Authenticator).
	Authenticator = authn.Authenticator
	// SASLSession is one server-side SASL exchange (authn.SASLSession).
	SASLSession = authn.SASLSession
	// UserDB gives delivery and protocols the user's mail home
	// (authn.UserDB).
	UserDB = authn.UserDB
	// User is a userdb record (authn.User).
	User = authn.User
	// PassDB verifies logins (authn.PassDB).
	PassDB = authn.PassDB
	// CredentialLookup is implemented by a PassDB that can return stored
	// credentials in a given scheme (authn.CredentialLookup).
	CredentialLookup = authn.CredentialLookup
)

// The errors of authn, under auth.
var (
	// ErrAuthFailed means wrong credentials or an unknown user (never which).
	ErrAuthFailed = authn.ErrAuthFailed
	// ErrPlaintextNotAllowed means a plaintext mechanism was requested on
	// a connection that is not secured.
	ErrPlaintextNotAllowed = authn.ErrPlaintextNotAllowed
	// ErrUnsupportedMechanism means the SASL mechanism is unknown or disabled.
	ErrUnsupportedMechanism = authn.ErrUnsupportedMechanism
	// ErrTempFail means a backend is unavailable: answer with a temporary
	// error and let the client retry.
	ErrTempFail = authn.ErrTempFail
	// ErrAborted means the client cancelled the exchange by sending "*".
	ErrAborted = authn.ErrAborted
	// ErrUnknownUser is returned by UserDB and PassDB lookups for users
	// that do not exist. Authenticators turn it into ErrAuthFailed.
	ErrUnknownUser = authn.ErrUnknownUser
	// ErrMalformed means the client's SASL response could not be parsed.
	ErrMalformed = authn.ErrMalformed
)

// ErrUnsupportedScheme means a password scheme is unknown, or stored
// credentials cannot be converted into the requested scheme.
var ErrUnsupportedScheme = errors.New("auth: unsupported password scheme")

// WithConnInfo returns a context carrying c, so that a PassDB can apply
// connection-dependent rules (allow_nets, %r, %s). [Service] sets it.
func WithConnInfo(ctx context.Context, c *ConnInfo) context.Context {
	return authn.WithConnInfo(ctx, c)
}

// ConnInfoFrom returns the ConnInfo stored by WithConnInfo, or nil.
func ConnInfoFrom(ctx context.Context) *ConnInfo { return authn.ConnInfoFrom(ctx) }
