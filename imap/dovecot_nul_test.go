package imap

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDovecotFetchNUL: a stored message with NUL bytes (in the body and
// in a header) is fetched as Dovecot's imap fetches it from the same
// Maildir: every NUL is 0x80 in BODY[...], RFC822 and ENVELOPE literals
// (a literal must not hold NUL, RFC 9051 4.3), and kept in BINARY's
// literal8.
func TestDovecotFetchNUL(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	env := newTestEnvAt(t, testutil.SharedDir(t), nil)
	c := env.login(t, "alice", "secret")
	msg := "Subject: a\x00b \"q\"\r\nFrom: x@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nab\x00cd\x00\r\nline2 \x80\r\n--b--\r\n"
	c.appendRaw("INBOX", msg)
	c.ok("LOGOUT")
	queries := []string{
		"FETCH 1 (RFC822.SIZE BODY.PEEK[])",
		"FETCH 1 (BODY.PEEK[TEXT])",
		"FETCH 1 (BODY.PEEK[1] BODY.PEEK[1]<2.4> BODY.PEEK[HEADER])",
		"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])",
		"FETCH 1 (ENVELOPE)",
	}
	home := filepath.Join(env.root, "alice")
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	want := map[string]string{}
	for i, q := range queries {
		tag := "q" + itoa(uint32(i))
		script := "x1 EXAMINE INBOX\r\n" + tag + " " + q + "\r\nx2 LOGOUT\r\n"
		out := testutil.PreauthIMAP(t, "alice", home, "maildir:~/Maildir", script)
		want[tag] = responsesByTag(out)[tag]
	}
	c = env.login(t, "alice", "secret")
	c.ok("EXAMINE INBOX")
	for i, q := range queries {
		got := strings.Join(c.ok(q), "\n")
		w := want["q"+itoa(uint32(i))]
		if got != w {
			t.Errorf("%s\nyubin:   %q\ndovecot: %q", q, got, w)
		}
		if strings.Contains(q, "BINARY") {
			if !strings.Contains(got, "ab\x00cd") {
				t.Errorf("%s: BINARY lost the NUL: %q", q, got)
			}
		} else if strings.Contains(got, "\x00") {
			t.Errorf("%s: NUL in a literal: %q", q, got)
		}
	}
}
