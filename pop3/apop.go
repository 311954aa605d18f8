package pop3

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth"
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
	Normalize(c *auth.ConnInfo, user string) (string, error)
}

// cmdAPOP checks "APOP name digest" (RFC 1939 section 7): digest is the
// MD5 of the greeting's timestamp followed by the user's plaintext
// password, which only a PassDB that keeps plaintext credentials can
// give. The comparison is constant-time. APOP does not go through the
// Authenticator's login path, so the failure delay is applied here
// (APOPFailureDelay, like Dovecot's auth_failure_delay).
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
	if n, ok := s.srv.Authenticator.(userNormalizer); ok {
		u, err := n.Normalize(&s.info, user)
		if err != nil {
			s.log.Info("pop3: APOP user name refused", "user", quoteArg(user), "err", err)
			s.apopFailed(err)
			return
		}
		user = u
	}
	pw, err := cl.LookupCredentials(s.ctx, user, "PLAIN")
	if err != nil {
		s.log.Info("pop3: APOP credentials lookup failed", "user", user, "err", err)
		s.apopFailed(err)
		return
	}
	sum := md5.Sum(append([]byte(s.apopStamp), pw...))
	want := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(want), []byte(digest)) != 1 {
		s.log.Info("pop3: APOP digest mismatch", "user", user)
		s.apopFailed(auth.ErrAuthFailed)
		return
	}
	s.login(&auth.Identity{User: user})
}

// apopFailed answers a failed APOP after the failure delay.
func (s *session) apopFailed(err error) {
	if errors.Is(err, auth.ErrTempFail) {
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
