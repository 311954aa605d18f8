package imap

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// urlAuthEnv is a server with URLAUTH keys under root and users alice,
// bob and the submission server's "submitter"; alice has two messages.
func urlAuthEnv(t *testing.T) *testEnv {
	root := t.TempDir()
	env := newTestEnvAt(t, root, func(s *Server) {
		s.Authenticator = &testAuth{users: map[string]string{"alice": "secret", "bob": "pw", "submitter": "sub"}, insecureOK: true}
		s.URLAuth = &FileURLAuthKeys{Locate: func(_ context.Context, user string) (string, error) {
			return filepath.Join(root, user, "urlauth.json"), nil
		}}
		s.URLAuthSubmitUser = "submitter"
	})
	a := env.login(t, "alice", "secret")
	for _, m := range []string{
		"Subject: first\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart one\r\n--b\r\n\r\npart two\r\n--b--\r\n",
		"Subject: second\r\n\r\nbody two\r\n",
	} {
		if _, tagged := a.cmd("APPEND INBOX {" + itoa(uint32(len(m))) + "+}\r\n" + m); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("APPEND: %s", tagged)
		}
	}
	if _, tagged := a.cmd("SELECT INBOX"); !strings.HasPrefix(tagged, "OK") {
		t.Fatal(tagged)
	}
	return env
}

// genURL asks c for a signed URL and returns it.
func genURL(t *testing.T, c *client, rump string) string {
	t.Helper()
	untagged, tagged := c.cmd(`GENURLAUTH "` + rump + `" INTERNAL`)
	if !strings.HasPrefix(tagged, "OK") || len(untagged) != 1 {
		t.Fatalf("GENURLAUTH %s: %v %s", rump, untagged, tagged)
	}
	u, ok := strings.CutPrefix(untagged[0], `* GENURLAUTH "`)
	if !ok || !strings.HasPrefix(u, rump+":INTERNAL:") {
		t.Fatalf("GENURLAUTH answer %q", untagged[0])
	}
	return strings.TrimSuffix(u, `"`)
}

// fetchURL returns URLFETCH's data for u ("NIL" when refused).
func fetchURL(t *testing.T, c *client, u string) string {
	t.Helper()
	untagged, tagged := c.cmd(`URLFETCH "` + u + `"`)
	if !strings.HasPrefix(tagged, "OK") || len(untagged) != 1 {
		t.Fatalf("URLFETCH %s: %v %s", u, untagged, tagged)
	}
	rest, ok := strings.CutPrefix(untagged[0], `* URLFETCH "`+u+`" `)
	if !ok {
		t.Fatalf("URLFETCH answer %q", untagged[0])
	}
	return rest
}

// TestURLAuth: GENURLAUTH signs URLs of the user's own messages,
// URLFETCH serves them to the users their access identifier names (the
// owner's messages to another user included), and refuses forged,
// altered, expired and reset ones (RFC 4467).
func TestURLAuth(t *testing.T) {
	env := urlAuthEnv(t)
	alice := env.login(t, "alice", "secret")
	bob := env.login(t, "bob", "pw")
	sub := env.login(t, "submitter", "sub")

	caps, _ := alice.cmd("CAPABILITY")
	if !strings.Contains(caps[0], " URLAUTH") || !strings.Contains(caps[0], " URL-PARTIAL") {
		t.Errorf("capabilities: %s", caps[0])
	}
	whole := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2;URLAUTH=authuser")
	for _, c := range []*client{alice, bob} {
		if got := fetchURL(t, c, whole); !strings.Contains(got, "Subject: second\r\n\r\nbody two") {
			t.Errorf("authuser URL: %q", got)
		}
	}
	part := genURL(t, alice, "imap://alice@localhost/INBOX;UIDVALIDITY=1/;UID=1/;SECTION=2;URLAUTH=user+bob")
	if uv, _ := alice.cmd("STATUS INBOX (UIDVALIDITY)"); !strings.Contains(uv[0], "UIDVALIDITY 1)") {
		// The test's Maildir starts at UIDVALIDITY 1 only sometimes:
		// build the URL from the real one.
		v := strings.TrimSuffix(strings.Fields(uv[0])[4], ")")
		part = genURL(t, alice, "imap://alice@localhost/INBOX;UIDVALIDITY="+v+"/;UID=1/;SECTION=2;URLAUTH=user+bob")
	}
	if got := fetchURL(t, bob, part); got != "{8}\r\npart two" {
		t.Errorf("user+bob URL fetched by bob: %q", got)
	}
	if got := fetchURL(t, alice, part); got != "NIL" {
		t.Errorf("user+bob URL fetched by alice: %q", got)
	}
	partial := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2/;PARTIAL=0.7;URLAUTH=authuser")
	if got := fetchURL(t, bob, partial); got != "{7}\r\nSubject" {
		t.Errorf("PARTIAL URL: %q", got)
	}
	submit := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2;URLAUTH=submit+alice")
	if got := fetchURL(t, alice, submit); got != "NIL" {
		t.Errorf("submit+ URL fetched by the user: %q", got)
	}
	if got := fetchURL(t, sub, submit); !strings.Contains(got, "body two") {
		t.Errorf("submit+ URL fetched by the submission user: %q", got)
	}

	// Forged and altered URLs.
	tok := whole[len(whole)-40:]
	flipped := whole[:len(whole)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", whole[len(whole)-1])+1)%16])
	for _, u := range []string{
		flipped,
		"imap://alice@localhost/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:" + tok, // another message, same token
		"imap://alice@localhost/INBOX/;UID=2;URLAUTH=user+bob:INTERNAL:" + tok, // other access
		"imap://bob@localhost/INBOX/;UID=2;URLAUTH=authuser:INTERNAL:" + tok,   // other owner
		strings.Replace(whole, ":INTERNAL:", ":OTHER:", 1),
		"imap://alice@localhost/INBOX/;UID=2;URLAUTH=authuser",
		"imap://alice@localhost/INBOX/;UID=2;URLAUTH=authuser:INTERNAL:00",
		"/INBOX/;UID=2",
	} {
		if got := fetchURL(t, bob, u); got != "NIL" {
			t.Errorf("URLFETCH %s = %q, want NIL", u, got)
		}
	}

	// EXPIRE.
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	expired := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2;EXPIRE="+past+";URLAUTH=authuser")
	if got := fetchURL(t, bob, expired); got != "NIL" {
		t.Errorf("expired URL: %q", got)
	}
	live := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2;EXPIRE="+future+";URLAUTH=authuser")
	if got := fetchURL(t, bob, live); got == "NIL" {
		t.Errorf("URL that has not expired refused")
	}

	// GENURLAUTH only for the user's own existing mailboxes.
	for _, cmd := range []string{
		`GENURLAUTH "imap://bob@localhost/INBOX/;UID=1;URLAUTH=authuser" INTERNAL`,
		`GENURLAUTH "imap://alice@localhost/nosuch/;UID=1;URLAUTH=authuser" INTERNAL`,
		`GENURLAUTH "imap://alice@localhost/INBOX/;UID=1;URLAUTH=anonymous" INTERNAL`,
		`GENURLAUTH "imap://alice@localhost/INBOX/;UID=1;URLAUTH=authuser" HMAC`,
		`GENURLAUTH "imap://alice@localhost/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:0123456789abcdef0123456789abcdef" INTERNAL`,
		`GENURLAUTH "/INBOX/;UID=1;URLAUTH=authuser" INTERNAL`,
	} {
		if _, tagged := alice.cmd(cmd); !strings.HasPrefix(tagged, "NO [BADURL") {
			t.Errorf("%s: %s", cmd, tagged)
		}
	}
	if _, tagged := alice.cmd(`GENURLAUTH "imap://alice@localhost/INBOX/;UID=1;URLAUTH=authuser"`); !strings.HasPrefix(tagged, "BAD") {
		t.Errorf("GENURLAUTH without mechanism: %s", tagged)
	}

	// RESETKEY: the mailbox's URLs stop working; new ones work.
	if _, tagged := alice.cmd("RESETKEY INBOX INTERNAL"); !strings.HasPrefix(tagged, "OK") {
		t.Fatal(tagged)
	}
	if got := fetchURL(t, bob, whole); got != "NIL" {
		t.Errorf("URL after RESETKEY INBOX: %q", got)
	}
	again := genURL(t, alice, "imap://alice@localhost/INBOX/;UID=2;URLAUTH=authuser")
	if again == whole || fetchURL(t, bob, again) == "NIL" {
		t.Errorf("new URL after RESETKEY: %s", again)
	}
	if _, tagged := alice.cmd("RESETKEY"); !strings.HasPrefix(tagged, "OK") {
		t.Fatal(tagged)
	}
	if got := fetchURL(t, bob, again); got != "NIL" {
		t.Errorf("URL after RESETKEY: %q", got)
	}
	for cmd, want := range map[string]string{"RESETKEY nosuch": "NO [NONEXISTENT]", "RESETKEY INBOX HMAC": "BAD"} {
		if _, tagged := alice.cmd(cmd); !strings.HasPrefix(tagged, want) {
			t.Errorf("%s: %s", cmd, tagged)
		}
	}

	// A deleted mailbox's URLs do not name its successor.
	for _, cmd := range []string{"SELECT INBOX", "CREATE Box", "COPY 2 Box"} {
		if _, tagged := alice.cmd(cmd); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("%s: %s", cmd, tagged)
		}
	}
	boxURL := genURL(t, alice, "imap://alice@localhost/Box/;UID=1;URLAUTH=authuser")
	for _, cmd := range []string{"DELETE Box", "CREATE Box", "COPY 1 Box"} {
		if _, tagged := alice.cmd(cmd); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("%s: %s", cmd, tagged)
		}
	}
	if got := fetchURL(t, bob, boxURL); got != "NIL" {
		t.Errorf("URL of a deleted mailbox names the new one: %q", got)
	}

	// Without Server.URLAuth: no capability, no commands.
	plain := newTestEnv(t, nil).login(t, "alice", "secret")
	if caps, _ := plain.cmd("CAPABILITY"); strings.Contains(caps[0], "URLAUTH") {
		t.Errorf("capabilities without URLAuth: %s", caps[0])
	}
	if _, tagged := plain.cmd("URLFETCH x"); !strings.HasPrefix(tagged, "BAD") {
		t.Errorf("URLFETCH without URLAuth: %s", tagged)
	}
}
