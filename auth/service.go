package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default values of Service fields.
const (
	DefaultFailureDelay   = 2 * time.Second
	DefaultPenaltyBase    = 2 * time.Second
	DefaultPenaltyMax     = 15 * time.Second
	DefaultPenaltyWindow  = 5 * time.Minute
	DefaultUsernameFormat = "%Lu"
	// DefaultUsernameChars is Dovecot's auth_username_chars default.
	DefaultUsernameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
	DefaultMaxUsername   = 255
	DefaultMaxResponse   = 8192
	DefaultMaxPenaltyIPs = 65536
	// DefaultMaxConcurrentAttempts is how many attempts from one address
	// without recent failures are checked at the same time.
	DefaultMaxConcurrentAttempts = 8
)

// DefaultMechanisms are enabled when Service.AuthMechanisms is nil.
var DefaultMechanisms = []string{"PLAIN", "LOGIN"}

// Service is the authentication policy shared by the protocol servers:
// it implements Authenticator over a PassDB. The zero value plus a
// PassDB is usable and secure: plaintext authentication only on TLS,
// loopback or trusted connections, a 2 s failure delay, per-IP
// penalties, user names lower-cased.
type Service struct {
	// PassDB verifies passwords. For CRAM-MD5 and SCRAM it must also
	// implement CredentialLookup.
	PassDB PassDB
	// AuthMechanisms lists the enabled SASL mechanisms (Dovecot's
	// auth_mechanisms), in advertising order; nil means DefaultMechanisms.
	// Known: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-1-PLUS,
	// SCRAM-SHA-256, SCRAM-SHA-256-PLUS, OAUTHBEARER, XOAUTH2, EXTERNAL,
	// ANONYMOUS.
	AuthMechanisms []string
	// AllowPlaintext allows plaintext mechanisms and LOGIN/USER-PASS on
	// any connection (Dovecot's disable_plaintext_auth = no).
	AllowPlaintext bool
	// TrustedNetworks count as secured and are exempt from penalties
	// (Dovecot's login_trusted_networks).
	TrustedNetworks []netip.Prefix
	// FailureDelay is how long a failed attempt takes before its answer
	// (Dovecot's auth_failure_delay); only the failing session waits.
	// Zero means DefaultFailureDelay, a negative value none.
	FailureDelay time.Duration
	// PenaltyBase is the delay before handling an attempt from an IP
	// address with one recent failure; it doubles with each further
	// failure up to PenaltyMax. Only failures are penalised, as in
	// Dovecot: many correct logins at once from one address (users
	// behind one NAT) are checked MaxConcurrentAttempts at a time and
	// never refused. Once an address has failed, its attempts at the
	// same time queue behind one another (each counts as a failure
	// until it is answered), so guesses per second from one address
	// stay bounded by about 1/PenaltyMax however many connections it
	// opens; an attempt that would queue longer than twice PenaltyMax is
	// refused at once as a temporary failure (ErrTempFail) without
	// being checked. Zero means DefaultPenaltyBase, negative disables
	// penalties.
	PenaltyBase time.Duration
	// PenaltyMax caps the penalty; zero means DefaultPenaltyMax.
	PenaltyMax time.Duration
	// PenaltyWindow is how long failures are remembered; zero means
	// DefaultPenaltyWindow.
	PenaltyWindow time.Duration
	// MaxPenaltyIPs bounds the penalty table; zero means
	// DefaultMaxPenaltyIPs.
	MaxPenaltyIPs int
	// MaxConcurrentAttempts is how many attempts from one address
	// without recent failures are checked at the same time; more wait
	// for one of them to end. It bounds the guesses an attacker's
	// parallel connections get before the first failure starts the
	// penalty. Zero means DefaultMaxConcurrentAttempts.
	MaxConcurrentAttempts int
	// UsernameFormat normalises login names (auth_username_format);
	// empty means "%Lu".
	UsernameFormat string
	// DefaultRealm is appended as "@realm" to a login name without '@'
	// before UsernameFormat is applied (Dovecot's auth_default_realm);
	// empty means names are used as given.
	DefaultRealm string
	// UsernameChars are the characters allowed in login names
	// (auth_username_chars); empty means DefaultUsernameChars.
	UsernameChars string
	// MaxUsername is the longest login name; zero means DefaultMaxUsername.
	MaxUsername int
	// MaxResponse is the largest decoded SASL response; zero means
	// DefaultMaxResponse.
	MaxResponse int
	// AllowAnonymous enables the ANONYMOUS mechanism (off by default, as
	// "noanonymous").
	AllowAnonymous bool
	// AnonymousUser is the user ANONYMOUS logs in as; default "anonymous".
	AnonymousUser string
	// TokenVerifier checks OAUTHBEARER and XOAUTH2 tokens; without it
	// those mechanisms are not offered.
	TokenVerifier TokenVerifier
	// CertUsername maps a verified client certificate to a user name for
	// EXTERNAL; nil uses the subject's common name.
	CertUsername func(*x509.Certificate) string
	// Hostname appears in CRAM-MD5 challenges; default "localhost".
	Hostname string
	// Logger receives authentication events; nil discards them.
	Logger *slog.Logger
	// Verbose logs each successful login at Info level (Dovecot's
	// auth_verbose = yes); otherwise at Debug, as Dovecot logs none by
	// default. Failures are logged either way.
	Verbose bool

	once     sync.Once
	secret   []byte // for fake SCRAM salts of unknown users
	penalMu  sync.Mutex
	penalty  map[netip.Addr]*penaltyEntry
	nowFunc  func() time.Time
	sleepFor func(ctx context.Context, d time.Duration) error
	userFmt  atomic.Pointer[Template] // UsernameFormat, parsed
}

var _ Authenticator = (*Service)(nil)

func (s *Service) init() {
	s.once.Do(func() {
		s.secret = make([]byte, 32)
		rand.Read(s.secret)
		if s.nowFunc == nil {
			s.nowFunc = time.Now
		}
		if s.sleepFor == nil {
			s.sleepFor = sleepCtx
		}
	})
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// logs reports whether Logger takes records at level, so that a hot
// path formats nothing for a discarded one.
func (s *Service) logs(ctx context.Context, level slog.Level) bool {
	return s.Logger != nil && s.Logger.Enabled(ctx, level)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// plaintextMech reports whether mech sends the password in the clear.
func plaintextMech(mech string) bool {
	switch mech {
	case "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER":
		return true
	}
	return false
}

// secured reports whether c is TLS, loopback (or from the host itself)
// or from a trusted network.
func (s *Service) secured(c *ConnInfo) bool {
	if c == nil {
		return false
	}
	if c.TLS != nil {
		return true
	}
	rip := addrIP(c.RemoteAddr)
	if rip.IsLoopback() || rip.IsValid() && rip == addrIP(c.LocalAddr) {
		return true
	}
	return s.trusted(rip)
}

func (s *Service) trusted(ip netip.Addr) bool {
	for _, p := range s.TrustedNetworks {
		if ip.IsValid() && p.Contains(ip) {
			return true
		}
	}
	return false
}

// PlaintextAllowed implements Authenticator.
func (s *Service) PlaintextAllowed(c *ConnInfo) bool {
	return s.AllowPlaintext || s.secured(c)
}

func (s *Service) enabled() []string {
	if s.AuthMechanisms == nil {
		return DefaultMechanisms
	}
	return s.AuthMechanisms
}

// Mechanisms implements Authenticator: the enabled mechanisms usable on c.
func (s *Service) Mechanisms(c *ConnInfo) []string {
	var out []string
	for _, m := range s.enabled() {
		m = strings.ToUpper(m)
		if s.usable(m, c) == nil {
			out = append(out, m)
		}
	}
	return out
}

// usable reports why mech cannot be used on c, or nil.
func (s *Service) usable(mech string, c *ConnInfo) error {
	found := false
	for _, m := range s.enabled() {
		if strings.EqualFold(m, mech) {
			found = true
		}
	}
	if !found || newMech(mech) == nil {
		return ErrUnsupportedMechanism
	}
	creds := canLookupCredentials(s.PassDB)
	switch {
	case plaintextMech(mech) && !s.PlaintextAllowed(c):
		return ErrPlaintextNotAllowed
	case strings.HasSuffix(mech, "-PLUS") && (c == nil || c.TLS == nil):
		return ErrUnsupportedMechanism
	case mech == "EXTERNAL" && (c == nil || c.TLS == nil || len(c.TLS.VerifiedChains) == 0):
		return ErrUnsupportedMechanism
	case mech == "ANONYMOUS" && !s.AllowAnonymous:
		return ErrUnsupportedMechanism
	case (mech == "OAUTHBEARER" || mech == "XOAUTH2") && s.TokenVerifier == nil:
		return ErrUnsupportedMechanism
	case (mech == "CRAM-MD5" || strings.HasPrefix(mech, "SCRAM-")) && !creds:
		return ErrUnsupportedMechanism
	case mech != "ANONYMOUS" && mech != "EXTERNAL" && !strings.HasPrefix(mech, "OAUTH") && mech != "XOAUTH2" && s.PassDB == nil:
		return ErrUnsupportedMechanism
	}
	return nil
}

// NewSASL implements Authenticator.
func (s *Service) NewSASL(ctx context.Context, mech string, c *ConnInfo) (SASLSession, error) {
	s.init()
	mech = strings.ToUpper(mech)
	if err := s.usable(mech, c); err != nil {
		return nil, err
	}
	m := newMech(mech)
	return &session{s: s, c: c, mech: mech, m: m}, nil
}

// Login implements Authenticator (IMAP LOGIN, POP3 USER/PASS).
func (s *Service) Login(ctx context.Context, c *ConnInfo, user, password string) (*Identity, error) {
	s.init()
	if !s.PlaintextAllowed(c) {
		return nil, ErrPlaintextNotAllowed
	}
	ticket, err := s.waitPenalty(ctx, c)
	if err != nil {
		return nil, err
	}
	start := s.nowFunc()
	id, err := s.checkPassword(ctx, c, "", user, password)
	return s.finish(ctx, c, ticket, "LOGIN", user, start, id, err)
}

// finish logs, applies the failure delay and penalty, and maps errors so
// that nothing tells an unknown user from a wrong password.
func (s *Service) finish(ctx context.Context, c *ConnInfo, ticket penaltyTicket, mech, user string, start time.Time, id *Identity, err error) (*Identity, error) {
	rip := func() string {
		if c == nil {
			return ""
		}
		return addrIP(c.RemoteAddr).String()
	}
	if err == nil {
		level := slog.LevelDebug
		if s.Verbose {
			level = slog.LevelInfo
		}
		if s.logs(ctx, level) {
			s.Logger.Log(ctx, level, "auth: login", "mech", mech, "user", id.User, "rip", rip())
		}
		s.clearPenalty(c, ticket)
		return id, nil
	}
	MayBlock(ctx) // the failure delay, and the log
	if errors.Is(err, ErrTempFail) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		s.logger().Warn("auth: temporary failure", "mech", mech, "user", user, "rip", rip(), "error", err)
		s.endAttempt(c, ticket, false)
		return nil, ErrTempFail
	}
	if errors.Is(err, ErrAborted) {
		s.endAttempt(c, ticket, false)
		return nil, ErrAborted
	}
	s.logger().Info("auth: failed", "mech", mech, "user", user, "rip", rip(), "error", err)
	s.endAttempt(c, ticket, true)
	delay := orDefault(s.FailureDelay, DefaultFailureDelay)
	if delay > 0 {
		// Pad to a fixed duration from the start of the attempt, so the
		// time taken does not depend on whether the user exists.
		if err := s.sleepFor(ctx, delay-s.nowFunc().Sub(start)); err != nil {
			return nil, ErrTempFail
		}
	}
	switch {
	case errors.Is(err, ErrMalformed):
		return nil, ErrMalformed
	case errors.Is(err, ErrPlaintextNotAllowed):
		return nil, ErrPlaintextNotAllowed
	}
	return nil, ErrAuthFailed
}

// normalize checks and formats a login name (auth_username_chars,
// auth_default_realm, auth_username_format).
func (s *Service) normalize(c *ConnInfo, user string) (string, error) {
	if user == "" || len(user) > orDefault(s.MaxUsername, DefaultMaxUsername) {
		return "", fmt.Errorf("%w: bad user name length", ErrAuthFailed)
	}
	chars := orDefault(s.UsernameChars, DefaultUsernameChars)
	for i := 0; i < len(user); i++ {
		if strings.IndexByte(chars, user[i]) < 0 {
			return "", fmt.Errorf("%w: invalid character in user name", ErrAuthFailed)
		}
	}
	if s.DefaultRealm != "" && !strings.Contains(user, "@") {
		user += "@" + s.DefaultRealm
	}
	out, err := s.formatUser(c, user)
	if err != nil || out == "" {
		return "", fmt.Errorf("%w: username_format: %v", ErrTempFail, err)
	}
	return out, nil
}

// checkPassword normalises authcid, checks authzid and verifies password
// with the PassDB.
func (s *Service) checkPassword(ctx context.Context, c *ConnInfo, authzid, authcid, password string) (*Identity, error) {
	if s.PassDB == nil {
		return nil, ErrTempFail
	}
	user, err := s.normalize(c, authcid)
	if err != nil {
		return nil, err
	}
	if authzid != "" && authzid != authcid {
		z, err := s.normalize(c, authzid)
		if err != nil || z != user {
			// No master users: acting as someone else is refused.
			return nil, fmt.Errorf("%w: authorization identity differs", ErrAuthFailed)
		}
	}
	if _, cached := s.PassDB.(*Cache); !cached {
		MayBlock(ctx) // a Cache says so itself, on a miss
	}
	id, err := s.PassDB.Authenticate(WithConnInfo(ctx, c), user, password)
	if errors.Is(err, ErrUnknownUser) {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return s.identity(id, authcid)
}

// identity applies nologin and records the original login name.
func (s *Service) identity(id *Identity, original string) (*Identity, error) {
	if id.Fields == nil {
		id.Fields = map[string]string{}
	}
	if _, nologin := id.Fields["nologin"]; nologin {
		if _, proxy := id.Fields["proxy"]; !proxy {
			return nil, fmt.Errorf("%w: nologin", ErrAuthFailed)
		}
	}
	if original != id.User && original != "" {
		id.Fields["original_user"] = original
	}
	return id, nil
}

// fakeSalt derives a stable salt for an unknown user so that SCRAM's
// first challenge looks the same as for an existing user.
func (s *Service) fakeSalt(user string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(user))
	return m.Sum(nil)[:16]
}

// Normalize checks a login name against UsernameChars and MaxUsername
// and applies UsernameFormat, as done before every passdb and userdb
// lookup (the auth-master server uses it for USER requests).
func (s *Service) Normalize(c *ConnInfo, user string) (string, error) {
	return s.normalize(c, user)
}
