package imap

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

var dovecotMessages = []string{
	"From: \"Alice Example\" <alice@example.org>\r\nTo: bob@example.org, \"Carol\" <carol@example.net>\r\nCc: team: dan@example.org;\r\nSubject: =?UTF-8?B?44GT44KT44Gr44Gh44Gv?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0900\r\nMessage-ID: <m1@example.org>\r\nIn-Reply-To: <m0@example.org>\r\n\r\nplain body\r\nsecond line\r\n",
	"From: bob@example.org\r\nSubject: multipart\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 au lait\r\n--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--XX--\r\n",
}

// TestDovecotFetchSameAsDovecot stores messages with yubin, then asks
// Dovecot's imap (pre-authenticated, on the same Maildir) and yubin the
// same FETCH and SEARCH questions: the answers must be identical.
func TestDovecotFetchSameAsDovecot(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	env := newTestEnvAt(t, testutil.SharedDir(t), nil)
	c := env.login(t, "alice", "secret")
	for _, m := range dovecotMessages {
		c.appendRaw("INBOX", m)
	}
	c.ok("LOGOUT")
	queries := []string{
		"FETCH 1:* (UID RFC822.SIZE ENVELOPE)",
		"FETCH 1:* (BODYSTRUCTURE)",
		"FETCH 1:* (BODY)",
		"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])",
		"FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[1]<2.5>)",
		"FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[2])",
		"FETCH 1 (BODY.PEEK[TEXT]<0.10> RFC822.HEADER)",
		`SEARCH SUBJECT "こんにちは"`,
		`SEARCH BODY "café"`,
		"SEARCH TEXT inner",
		"SEARCH HEADER Message-ID m1@example",
		"SEARCH OR FROM bob SENTBEFORE 2-Jan-2024",
		"SEARCH LARGER 300 NOT SMALLER 10",
	}
	// Dovecot: same Maildir, owned by its plain user.
	home := filepath.Join(env.root, "alice")
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	// One Dovecot process per query: Dovecot runs pipelined FETCH and
	// SEARCH commands in parallel and interleaves their output.
	want := map[string]string{}
	for i, q := range queries {
		tag := "q" + itoa(uint32(i))
		script := "x1 EXAMINE INBOX\r\n" + tag + " " + strings.Replace(q, "SEARCH ", "SEARCH CHARSET UTF-8 ", 1) + "\r\nx2 LOGOUT\r\n"
		out := testutil.PreauthIMAP(t, "alice", home, "maildir:~/Maildir", script)
		want[tag] = responsesByTag(out)[tag]
	}

	c = env.login(t, "alice", "secret")
	c.ok("SELECT INBOX")
	for i, q := range queries {
		lines := c.ok(strings.Replace(q, "SEARCH ", "SEARCH CHARSET UTF-8 ", 1))
		got := strings.Join(lines, "\n")
		if w := want["q"+itoa(uint32(i))]; got != w {
			t.Errorf("%s\nyubin:   %q\ndovecot: %q", q, got, w)
		}
	}
}

var taggedRE = regexp.MustCompile(`^(q\d+) (OK|NO|BAD)`)

// responsesByTag splits a Dovecot transcript into the untagged lines
// before each tagged response.
func responsesByTag(out string) map[string]string {
	res := map[string]string{}
	var cur []string
	started := false
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "x1 "):
			started, cur = true, nil
		case !started:
		case taggedRE.MatchString(l):
			res[taggedRE.FindStringSubmatch(l)[1]] = strings.Join(cur, "\n")
			cur = nil
		case strings.HasPrefix(l, "* "):
			cur = append(cur, l)
		case len(cur) > 0:
			// literal content: lines after a {n} belong to the response
			cur[len(cur)-1] += "\r\n" + l
		}
	}
	return res
}
