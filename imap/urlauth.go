package imap

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"
	"time"
)

// URLAuthKeys keeps the mailbox access keys of URLAUTH (RFC 4467 7):
// the secret of each of a user's mailboxes that signs the URLs
// GENURLAUTH makes. Setting Server.URLAuth turns on URLAUTH
// (GENURLAUTH, RESETKEY, URLFETCH). Implementations must be safe for
// concurrent use.
type URLAuthKeys interface {
	// MailboxKey returns the access key of the user's mailbox; with
	// create, one is made when there is none, else none is nil.
	MailboxKey(ctx context.Context, user, mailbox string, create bool) ([]byte, error)
	// ResetKeys drops the key of the user's mailbox and those of the
	// mailboxes below it, or every key of the user when mailbox is "":
	// URLs signed with them stop working. DELETE and RENAME call it,
	// so that a new mailbox of the same name does not honour old URLs.
	ResetKeys(ctx context.Context, user, mailbox string) error
}

// FileURLAuthKeys keeps each user's mailbox access keys (256 random
// bits each) in one JSON file, mode 0600, rewritten atomically.
type FileURLAuthKeys struct {
	// Locate returns the file of a user's keys; its directory is made
	// (0700) when missing.
	Locate func(ctx context.Context, user string) (string, error)

	mu sync.Mutex
}

func (f *FileURLAuthKeys) load(path string) (map[string]string, error) {
	m := map[string]string{}
	if err := loadJSONFile(path, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (f *FileURLAuthKeys) save(path string, m map[string]string) error {
	return saveJSONFile(path, m, true)
}

// MailboxKey implements URLAuthKeys.
func (f *FileURLAuthKeys) MailboxKey(ctx context.Context, user, mailbox string, create bool) ([]byte, error) {
	path, err := f.Locate(ctx, user)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil {
		return nil, err
	}
	if k, ok := m[mailbox]; ok {
		return hex.DecodeString(k)
	}
	if !create {
		return nil, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	m[mailbox] = hex.EncodeToString(key)
	if err := f.save(path, m); err != nil {
		return nil, err
	}
	return key, nil
}

// ResetKeys implements URLAuthKeys.
func (f *FileURLAuthKeys) ResetKeys(ctx context.Context, user, mailbox string) error {
	path, err := f.Locate(ctx, user)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil {
		return err
	}
	n := len(m)
	for name := range m {
		if mailbox == "" || name == mailbox || strings.HasPrefix(name, mailbox+"/") {
			delete(m, name)
		}
	}
	if len(m) == n {
		return nil
	}
	return f.save(path, m)
}

// maxURLLength bounds a URLAUTH URL.
const maxURLLength = 8192

// urlAuth is a URLAUTH URL (RFC 4467 3) taken apart.
type urlAuth struct {
	owner     string    // the user in the URL
	path      string    // "/INBOX;UIDVALIDITY=1/;UID=2..." without EXPIRE and URLAUTH
	expire    time.Time // zero: none
	access    string    // "authuser", "anonymous", "user+NAME", "submit+NAME"
	rump      string    // the URL up to and including the access identifier
	mechanism string    // "" in a rump URL
	token     string    // hex; "" in a rump URL
}

// parseURLAuth reads a URLAUTH URL: the rump GENURLAUTH takes (full
// false) or the full URL with ":mechanism:token" URLFETCH takes.
func parseURLAuth(s string, full bool) (*urlAuth, bool) {
	if len(s) > maxURLLength {
		return nil, false
	}
	i := lastIndexASCIIFold(s, ";URLAUTH=")
	if i < 0 {
		return nil, false
	}
	u := &urlAuth{}
	rest := s[i+len(";URLAUTH="):]
	access, tail, hasTail := strings.Cut(rest, ":")
	u.rump = s[:i+len(";URLAUTH=")+len(access)]
	if full {
		mech, token, ok := strings.Cut(tail, ":")
		if !hasTail || !ok || mech == "" || len(token) < 32 || len(token)%2 != 0 {
			return nil, false
		}
		if _, err := hex.DecodeString(token); err != nil {
			return nil, false
		}
		u.mechanism, u.token = mech, token
	} else if hasTail {
		return nil, false
	}
	switch la := strings.ToLower(access); {
	case la == "authuser" || la == "anonymous":
		u.access = la
	case strings.HasPrefix(la, "user+") || strings.HasPrefix(la, "submit+"):
		kind, name, _ := strings.Cut(access, "+")
		dec, err := url.PathUnescape(name)
		if err != nil || dec == "" {
			return nil, false
		}
		u.access = strings.ToLower(kind) + "+" + dec
	default:
		return nil, false
	}
	fetch := s[:i]
	if j := lastIndexASCIIFold(fetch, ";EXPIRE="); j >= 0 {
		t, err := time.Parse(time.RFC3339, fetch[j+len(";EXPIRE="):])
		if err != nil {
			return nil, false
		}
		u.expire, fetch = t, fetch[:j]
	}
	owner, path, ok := splitAbsoluteURL(fetch)
	if !ok {
		return nil, false
	}
	u.owner, u.path = owner, path
	return u, true
}

// urlAuthToken is the INTERNAL mechanism's token of a rump URL:
// HMAC-SHA1 under the mailbox access key, in hex (RFC 4467 7, as
// Dovecot computes it).
func urlAuthToken(key []byte, rump string) string {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}

// mayFetch reports whether user may fetch a URL with this access
// identifier (RFC 4467 3): "authuser" any logged-in user, "user+NAME"
// only NAME, "submit+NAME" only the submission server's user
// (Server.URLAuthSubmitUser, Dovecot's imap_urlauth_submit_user);
// "anonymous" is not served.
func (s *Server) mayFetch(access, user string) bool {
	switch {
	case access == "authuser":
		return true
	case strings.HasPrefix(access, "user+"):
		return access[len("user+"):] == user
	case strings.HasPrefix(access, "submit+"):
		return s.URLAuthSubmitUser != "" && user == s.URLAuthSubmitUser
	}
	return false
}

// lastIndexASCIIFold is strings.LastIndex ignoring ASCII case; upper
// is upper-case ASCII. (Upper-casing s itself would move the indexes
// of invalid UTF-8.)
func lastIndexASCIIFold(s, upper string) int {
	for i := len(s) - len(upper); i >= 0; i-- {
		if equalFoldASCIIPrefix(s[i:], upper) {
			return i
		}
	}
	return -1
}

func equalFoldASCIIPrefix(s, upper string) bool {
	for j := 0; j < len(upper); j++ {
		b := s[j]
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		if b != upper[j] {
			return false
		}
	}
	return true
}
