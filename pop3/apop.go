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

// cmdAPOP checks "APOP name digest" (RFC 1939 section 7): digest is the
// MD5 of the greeting's timestamp followed by the user's plaintext
// password, which only a PassDB that keeps plaintext credentials can
// give. The comparison is constant-time.
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
	pw, err := cl.LookupCredentials(s.ctx, user, "PLAIN")
	if err != nil {
		s.log.Info("pop3: APOP credentials lookup failed", "user", user, "err", err)
		if errors.Is(err, auth.ErrTempFail) {
			s.fail(errAuthTemp)
		} else {
			s.fail(errAuthFailed)
		}
		return
	}
	sum := md5.Sum(append([]byte(s.apopStamp), pw...))
	want := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(want), []byte(digest)) != 1 {
		s.log.Info("pop3: APOP digest mismatch", "user", user)
		s.fail(errAuthFailed)
		return
	}
	s.login(&auth.Identity{User: user})
}
