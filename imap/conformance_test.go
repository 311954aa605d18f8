package imap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// The conformance defects of issue 14, one test each. TestDovecotDifferential
// checks the same behaviour against Dovecot itself; these run without it.

// newSharedEnv is a server whose sessions of a user share one Store, as
// in examples/fullserver (maildir.Backend).
func newSharedEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	return newTestEnvAt(t, root, func(s *Server) {
		opts := maildir.Options{NoSync: true, AutoMailboxes: store.DefaultAutoMailboxes()}
		s.Backend = testBackend(t, root, opts, maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return maildirRoot(root, user), nil
		}, opts))
	})
}

func joined(lines []string) string { return strings.Join(lines, "\n") }

func mustContain(t *testing.T, what string, lines []string, want ...string) {
	t.Helper()
	all := joined(lines)
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s: no %q in\n%s", what, w, all)
		}
	}
}

// TestRecentIMAP4rev1: RFC 3501 \Recent, held by exactly one session;
// an IMAP4rev2 session is never told.
func TestRecentIMAP4rev1(t *testing.T) {
	env := newSharedEnv(t)
	a := env.login(t, "alice", "secret")
	// Appended by a session that has INBOX not selected: recent for
	// whoever selects it first.
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	mustContain(t, "STATUS", a.ok("STATUS INBOX (RECENT)"), "RECENT 2")
	// EXAMINE shows them recent without taking them (RFC 3501 6.3.2).
	x := env.login(t, "alice", "secret")
	mustContain(t, "EXAMINE", x.ok("EXAMINE INBOX"), "* 2 RECENT")
	mustContain(t, "EXAMINE FETCH", x.ok("FETCH 1 FLAGS"), `* 1 FETCH (FLAGS (\Recent))`)
	b := env.login(t, "alice", "secret")
	mustContain(t, "SELECT", b.ok("SELECT INBOX"), "* 2 RECENT")
	mustContain(t, "SEARCH RECENT", b.ok("SEARCH RECENT"), "* SEARCH 1 2")
	mustContain(t, "SEARCH NEW", b.ok("SEARCH NEW"), "* SEARCH 1 2")
	if got := b.ok("SEARCH OLD"); joined(got) != "* SEARCH" {
		t.Errorf("SEARCH OLD: %q", got)
	}
	mustContain(t, "FETCH", b.ok("FETCH 1 FLAGS"), `* 1 FETCH (FLAGS (\Recent))`)
	// The second session does not get them.
	c := env.login(t, "alice", "secret")
	mustContain(t, "second SELECT", c.ok("SELECT INBOX"), "* 0 RECENT")
	mustContain(t, "second SEARCH", c.ok("SEARCH OLD"), "* SEARCH 1 2")
	// New mail: RECENT after EXISTS, in the session that sees it first.
	a.appendRaw("INBOX", "Subject: three\r\n\r\n3\r\n")
	if got := b.ok("NOOP"); joined(got) != "* 3 EXISTS\n* 3 RECENT" {
		t.Errorf("NOOP after new mail: %q", got)
	}
	if got := c.ok("NOOP"); joined(got) != "* 3 EXISTS" {
		t.Errorf("other session's NOOP after new mail: %q", got)
	}
	// IMAP4rev2 knows no \Recent.
	d := env.login(t, "alice", "secret")
	d.ok("ENABLE IMAP4rev2")
	a.appendRaw("INBOX", "Subject: four\r\n\r\n4\r\n")
	sel := d.ok("SELECT INBOX")
	if strings.Contains(joined(sel), "RECENT") {
		t.Errorf("IMAP4rev2 SELECT: %q", sel)
	}
	if got := d.ok("FETCH 4 FLAGS"); strings.Contains(joined(got), `\Recent`) {
		t.Errorf("IMAP4rev2 FETCH: %q", got)
	}
}

// TestNewKeywordsAnnounced: a keyword the last FLAGS did not list is
// announced with FLAGS and PERMANENTFLAGS before a FETCH shows it,
// whoever set it.
func TestNewKeywordsAnnounced(t *testing.T) {
	env := newSharedEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.ok("SELECT INBOX")
	b := env.login(t, "alice", "secret")
	b.ok("SELECT INBOX")
	flagsRE := regexp.MustCompile(`^\* FLAGS \(.*\bKw1\b.*\)$`)
	permRE := regexp.MustCompile(`^\* OK \[PERMANENTFLAGS \(.*\bKw1\b.*\\\*\)\]`)
	check := func(who string, lines []string) {
		t.Helper()
		if len(lines) < 3 || !flagsRE.MatchString(lines[0]) || !permRE.MatchString(lines[1]) || !strings.Contains(lines[2], "FETCH") {
			t.Errorf("%s: want FLAGS, PERMANENTFLAGS, then FETCH: %q", who, lines)
		}
	}
	check("own STORE", a.ok("STORE 1 +FLAGS (Kw1)"))
	check("other session", b.ok("NOOP"))
	// Known keywords are not announced again.
	if got := a.ok("STORE 1 -FLAGS (Kw1)"); strings.Contains(joined(got), "* FLAGS") {
		t.Errorf("removal announced: %q", got)
	}
	// .SILENT still announces.
	if got := a.ok("STORE 1 +FLAGS.SILENT (Kw2)"); len(got) != 2 || !strings.HasPrefix(got[0], "* FLAGS (") || !strings.Contains(got[0], "Kw2") {
		t.Errorf(".SILENT: %q", got)
	}
}

// TestNewKeywordsFromAnotherProgram: a keyword another program writes
// into the Maildir (dovecot-keywords and the file name's letter, as
// Dovecot does) is announced before the FETCH that shows it.
func TestNewKeywordsFromAnotherProgram(t *testing.T) {
	env := newSharedEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.ok("SELECT INBOX")
	dir := maildirRoot(env.root, "alice")
	files, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	if len(files) != 1 {
		t.Fatalf("files: %q", files)
	}
	writeFile(t, filepath.Join(dir, "dovecot-keywords"), "0 External\n")
	if err := os.Rename(files[0], files[0]+"a"); err != nil {
		t.Fatal(err)
	}
	got := noopUntil(a)
	if len(got) < 3 || !strings.HasPrefix(got[0], "* FLAGS (") || !strings.Contains(got[0], "External") || !strings.Contains(got[2], "External") {
		t.Errorf("external keyword: %q", got)
	}
}

// TestAtomsPerRFC3501: '~' is an ATOM-CHAR, ']' an ASTRING-CHAR, and a
// parse error never ends the session.
func TestAtomsPerRFC3501(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	c.transcript(`
C: a1 LIST "" ~foo
S: a1 OK List completed.
C: a2 SELECT ~foo
S: a2 NO [CANNOT] Invalid mailbox name: Begins with '~'.
C: a3 STATUS ~foo (MESSAGES)
S: a3 NO [CANNOT] Invalid mailbox name: Begins with '~'.
C: a] NOOP
S: a] OK Noop completed.
C: a4 SELECT INBOX
`)
	for c.line() != "a4 OK [READ-WRITE] Select completed." {
	}
	for i, cmd := range []string{
		"SEARCH SUBJECT ~x", "SEARCH HEADER X-Y ~", "FETCH 1 (FLAGS", "FETCH 1:* BOGUS", "STORE 1 +FLAGS (a(b)",
		"STORE 1 +FLAGS (a{b)", "SEARCH (SEEN", "LIST", "STATUS INBOX MESSAGES", "SEARCH KEYWORD ~{", "LIST \"\" ~{",
		"SELECT ~", "UID FETCH ~ FLAGS", "COPY 1 ~x", "SEARCH CHARSET ~x ALL", "LSUB \"\" ~%",
	} {
		_, st := c.cmd(cmd)
		if !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "NO") && !strings.HasPrefix(st, "BAD") {
			t.Errorf("%d %s: %q", i, cmd, st)
		}
		if _, st := c.cmd("NOOP"); !strings.HasPrefix(st, "OK") {
			t.Fatalf("after %s: %q", cmd, st)
		}
	}
}

// TestCondstoreFirstModSeqCommand: the first command that uses
// mod-sequences without ENABLE answers HIGHESTMODSEQ (RFC 7162 3.1.2),
// and ESEARCH MIN/MAX give the mod-sequence of that message (3.1.5).
func TestCondstoreFirstModSeqCommand(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	for i := 0; i < 3; i++ {
		c.appendRaw("INBOX", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	c.ok("SELECT INBOX")
	c.ok("STORE 3 +FLAGS (\\Seen)")
	lines := c.ok("FETCH 1 (MODSEQ)")
	if len(lines) != 2 || !regexp.MustCompile(`^\* OK \[HIGHESTMODSEQ \d+\]`).MatchString(lines[0]) {
		t.Errorf("first FETCH MODSEQ: %q", lines)
	}
	if got := c.ok("FETCH 1 (MODSEQ)"); len(got) != 1 {
		t.Errorf("second FETCH MODSEQ: %q", got)
	}
	// ENABLE CONDSTORE in the selected state reports it too.
	d := env.login(t, "alice", "secret")
	d.ok("SELECT INBOX")
	if got := d.ok("ENABLE CONDSTORE"); len(got) != 2 || !strings.HasPrefix(got[0], "* OK [HIGHESTMODSEQ ") || got[1] != "* ENABLED CONDSTORE" {
		t.Errorf("ENABLE CONDSTORE while selected: %q", got)
	}
	modseq := func(seq int) string {
		got := c.ok(fmt.Sprintf("FETCH %d (MODSEQ)", seq))
		return regexp.MustCompile(`MODSEQ \((\d+)\)`).FindStringSubmatch(got[0])[1]
	}
	m1, m3 := modseq(1), modseq(3)
	if m1 == m3 {
		t.Fatalf("messages 1 and 3 have the same modseq %s", m1)
	}
	if got := c.ok("SEARCH RETURN (MIN) MODSEQ 1"); joined(got) != `* ESEARCH (TAG "t`+fmt.Sprint(c.n)+`") MIN 1 MODSEQ `+m1 {
		t.Errorf("MIN: %q, want MODSEQ %s", got, m1)
	}
	if got := c.ok("SEARCH RETURN (MAX) MODSEQ 1"); joined(got) != `* ESEARCH (TAG "t`+fmt.Sprint(c.n)+`") MAX 3 MODSEQ `+m3 {
		t.Errorf("MAX: %q, want MODSEQ %s", got, m3)
	}
}

// TestListChildInfoOnlyForNonMatching: CHILDINFO is for a mailbox the
// selection does not return whose children it would (RFC 5258 3.5).
func TestListChildInfoOnlyForNonMatching(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	c.ok("CREATE Lists/go")
	c.ok("SUBSCRIBE Lists/go")
	if got := joined(c.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"`)); strings.Contains(got, "CHILDINFO") {
		t.Errorf(`"*" matches the child itself:\n%s`, got)
	}
	mustContain(t, `"%"`, c.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`), `* LIST (\NonExistent) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))`) // as Dovecot: no CHILDREN asked for
}

// TestCopyMoveIntoSelected: the new messages are announced (EXISTS,
// RECENT) besides MOVE's expunge.
func TestCopyMoveIntoSelected(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	c.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	c.ok("SELECT INBOX")
	if got := c.ok("COPY 1 INBOX"); joined(got) != "* 2 EXISTS\n* 2 RECENT" {
		t.Errorf("COPY: %q", got)
	}
	// A recent message moved in place: still two recent, no RECENT.
	got := c.ok("MOVE 1 INBOX")
	if len(got) != 3 || !strings.HasPrefix(got[0], "* OK [COPYUID ") || got[1] != "* 1 EXPUNGE" || got[2] != "* 2 EXISTS" {
		t.Errorf("MOVE: %q", got)
	}
	if got := c.ok("FETCH 1:* UID"); joined(got) != "* 1 FETCH (UID 2)\n* 2 FETCH (UID 3)" {
		t.Errorf("after MOVE: %q", got)
	}
}

// TestBinarySizeDecoded: BINARY.SIZE is the size after decoding, and an
// empty part is a zero-length literal (RFC 3516).
func TestBinarySizeDecoded(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	c.appendRaw("INBOX", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--b--\r\n")
	c.ok("SELECT INBOX")
	if got := c.ok("FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])"); joined(got) != "* 1 FETCH (BINARY.SIZE[1] 0 BINARY.SIZE[2] 10 BINARY.SIZE[3] 4)" {
		t.Errorf("BINARY.SIZE: %q", got)
	}
	if got := c.ok("FETCH 1 (BINARY.PEEK[1])"); joined(got) != "* 1 FETCH (BINARY[1] {0}\r\n)" {
		t.Errorf("empty part: %q", got)
	}
}

// TestLsubNoselectParent: a subscribed mailbox below "%"'s reach shows
// its unsubscribed parent as \Noselect (RFC 3501 6.3.9).
func TestLsubNoselectParent(t *testing.T) {
	env := newSharedEnv(t)
	c := env.login(t, "alice", "secret")
	c.ok("CREATE Lists/go")
	c.ok("SUBSCRIBE Lists/go")
	mustContain(t, "LSUB %", c.ok(`LSUB "" "%"`), `* LSUB (\Noselect) "/" "Lists"`)
	got := joined(c.ok(`LSUB "" "*"`))
	if !strings.Contains(got, `* LSUB () "/" "Lists/go"`) || strings.Contains(got, `"Lists"`) {
		t.Errorf("LSUB *:\n%s", got)
	}
}

// TestFetchExpungedByOther answers what it can and OK [EXPUNGEISSUED]
// instead of NO; with the structure cached, it answers in full.
func TestFetchExpungedByOther(t *testing.T) {
	env := newSharedEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\nFrom: x@example.org\r\n\r\n1\r\n")
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	a.ok("SELECT INBOX")
	env1 := a.ok("FETCH 1 (ENVELOPE)")
	b := env.login(t, "alice", "secret")
	b.ok("SELECT INBOX")
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	lines, st := a.cmd("FETCH 1 (UID ENVELOPE)")
	if !strings.HasPrefix(st, "OK") || len(lines) != 1 || lines[0] != strings.Replace(env1[0], "FETCH (", "FETCH (UID 1 ", 1) {
		t.Errorf("cached ENVELOPE of an expunged message: %q %q (before: %q)", lines, st, env1)
	}
	lines, st = a.cmd("FETCH 1:2 (UID RFC822.SIZE BODY.PEEK[TEXT])")
	if !strings.HasPrefix(st, "OK [EXPUNGEISSUED]") || len(lines) != 2 || !strings.HasPrefix(lines[0], "* 1 FETCH (UID 1 RFC822.SIZE ") || !strings.HasSuffix(lines[0], " BODY[TEXT] NIL)") {
		t.Errorf("content of an expunged message: %q %q", lines, st)
	}
}
