package pop3

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
)

// newAPOPStamp returns a fresh RFC 1939 section 7 timestamp,
// "<random.time@host>".
func newAPOPStamp(host string) string {
	if host == "" {
		host = "localhost"
	}
	var b [8]byte
	rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "." + strconv.FormatInt(time.Now().Unix(), 10) + "@" + host + ">"
}

// userNormalizer is implemented by authenticators that format login
// names (auth.Service: auth_username_chars, auth_username_format); APOP
// names are formatted the same way before the credentials lookup.
type userNormalizer interface {
	Normalize(c *authn.ConnInfo, user string) (string, error)
}

// attempter is implemented by authenticators that apply their failure
// policy to attempts a protocol checks itself (auth.Service.Attempt:
// the per-IP penalty and auth_failure_delay).
type attempter interface {
	Attempt(ctx context.Context, c *authn.ConnInfo, mech, user string, check func(ctx context.Context) (*authn.Identity, error)) (*authn.Identity, error)
}

// cmdAPOP checks "APOP name digest" (RFC 1939 section 7): digest is the
// MD5 of the greeting's timestamp followed by the user's plaintext
// password, which only a PassDB that keeps plaintext credentials can
// give. The comparison is constant-time.
//
// When the Authenticator has an Attempt method (auth.Service), the check
// runs through it, so APOP shares the policy of USER/PASS and AUTH: it
// waits for the client address's penalty, its failures add to that
// penalty (and delay the address's next USER/PASS, AUTH or APOP), a
// success clears it, and a failure is answered after the
// Authenticator's failure delay. Otherwise a failure waits
// APOPFailureDelay (like Dovecot's auth_failure_delay).
func (s *session) cmdAPOP(c command) {
	cl := s.credentials()
	if cl == nil || s.apopStamp == "" {
		s.fail(&Error{Text: "APOP is not available."})
		return
	}
	args := c.args()
	if len(args) != 2 || len(args[1]) != 32 {
		s.fail(&Error{Text: "APOP takes a user name and a 32-digit MD5 digest."})
		return
	}
	user, digest := args[0], strings.ToLower(args[1])
	check := func(ctx context.Context) (*authn.Identity, error) {
		return s.checkAPOP(ctx, cl, user, digest)
	}
	if a, ok := s.srv.Authenticator.(attempter); ok {
		id, err := a.Attempt(s.ctx, &s.info, "APOP", user, check)
		if err != nil {
			s.fail(authError(err))
			return
		}
		s.login(id)
		return
	}
	id, err := check(s.ctx)
	if err != nil {
		s.apopFailed(err)
		return
	}
	s.login(id)
}

// checkAPOP formats user as the Authenticator does for USER (when it
// can) and compares digest with the one its plaintext password gives.
func (s *session) checkAPOP(ctx context.Context, cl authn.CredentialLookup, user, digest string) (*authn.Identity, error) {
	if n, ok := s.srv.Authenticator.(userNormalizer); ok {
		u, err := n.Normalize(&s.info, user)
		if err != nil {
			s.log.Info("pop3: APOP user name refused", "user", quoteArg(user), "err", err)
			return nil, err
		}
		user = u
	}
	pw, err := cl.LookupCredentials(ctx, user, "PLAIN")
	if err != nil {
		s.log.Info("pop3: APOP credentials lookup failed", "user", user, "err", err)
		return nil, err
	}
	sum := md5.Sum(append([]byte(s.apopStamp), pw...))
	want := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(want), []byte(digest)) != 1 {
		s.log.Info("pop3: APOP digest mismatch", "user", user)
		return nil, authn.ErrAuthFailed
	}
	return &authn.Identity{User: user}, nil
}

// apopFailed answers a failed APOP after APOPFailureDelay (for
// Authenticators without an Attempt method).
func (s *session) apopFailed(err error) {
	if errors.Is(err, authn.ErrTempFail) {
		s.fail(errAuthTemp)
		return
	}
	d := s.srv.APOPFailureDelay
	if d == 0 {
		d = DefaultAPOPFailureDelay
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	s.fail(errAuthFailed)
}
