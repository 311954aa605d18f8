package imap

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// maildirCount returns how many messages the Maildir folder dir holds
// (new/ and cur/), -1 when it does not exist.
func maildirCount(dir string) int {
	if _, err := os.Stat(dir); err != nil {
		return -1
	}
	n := 0
	for _, sub := range []string{"new", "cur"} {
		es, _ := os.ReadDir(filepath.Join(dir, sub))
		n += len(es)
	}
	return n
}

// TestDovecotRenameSelected: RENAME of the selected mailbox, as Dovecot
// 2.3 answers it (tagged OK; the folder moved on disk, its message with
// it) and yubin too; then Dovecot ends the session at the next command
// ("* BYE IMAP session state is inconsistent") where yubin keeps it in
// the renamed mailbox: NOOP, FETCH and a new message all work.
func TestDovecotRenameSelected(t *testing.T) {
	script := "a CREATE foo\r\nb APPEND foo {5+}\r\nhello\r\nc SELECT foo\r\nd RENAME foo bar\r\ne NOOP\r\nz LOGOUT\r\n"

	dhome := filepath.Join(testutil.SharedDir(t), "home")
	if err := os.MkdirAll(dhome, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, dhome, testutil.PlainUID, testutil.PlainGID)
	out := testutil.PreauthIMAP(t, "u", dhome, "maildir:~/Maildir", script)
	if !regexp.MustCompile(`(?m)^d OK Rename completed`).MatchString(out) {
		t.Fatalf("Dovecot's answer to RENAME of the selected mailbox is not OK:\n%s", out)
	}
	dmd := filepath.Join(dhome, "Maildir")
	if maildirCount(filepath.Join(dmd, ".bar")) != 1 || maildirCount(filepath.Join(dmd, ".foo")) != -1 {
		t.Fatalf("Dovecot did not move the folder: .bar %d, .foo %d", maildirCount(filepath.Join(dmd, ".bar")), maildirCount(filepath.Join(dmd, ".foo")))
	}
	t.Logf("Dovecot after the RENAME: %q", out[strings.Index(out, "d OK"):])

	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.ok("CREATE foo")
	c.send("b APPEND foo {5+}\r\nhello")
	if l := c.line(); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("APPEND: %q", l)
	}
	c.ok("SELECT foo")
	if _, st := c.cmd("RENAME foo bar"); st != "OK Rename completed." {
		t.Fatalf("RENAME of the selected mailbox: %q", st)
	}
	ymd := maildirRoot(env.root, "alice")
	if maildirCount(filepath.Join(ymd, ".bar")) != 1 || maildirCount(filepath.Join(ymd, ".foo")) != -1 {
		t.Fatalf("yubin did not move the folder like Dovecot: .bar %d, .foo %d", maildirCount(filepath.Join(ymd, ".bar")), maildirCount(filepath.Join(ymd, ".foo")))
	}
	c.ok("NOOP")
	lines := c.ok("FETCH 1 BODY[]")
	if len(lines) != 1 || !strings.Contains(lines[0], "hello") {
		t.Fatalf("FETCH after RENAME: %q", lines)
	}
	// A message delivered to the new name reaches the session.
	d := env.login(t, "alice", "secret")
	d.send("x APPEND bar {5+}\r\nworld")
	if l := d.line(); !strings.HasPrefix(l, "x OK") {
		t.Fatalf("APPEND: %q", l)
	}
	if lines := c.ok("NOOP"); !contains(lines, "* 2 EXISTS") {
		t.Fatalf("NOOP after a delivery to the renamed mailbox: %q", lines)
	}
	// A STORE goes to the renamed folder.
	c.ok("STORE 2 +FLAGS (\\Flagged)")
	if lines := d.ok("STATUS bar (MESSAGES)"); !contains(lines, `* STATUS "bar" (MESSAGES 2)`) {
		t.Fatalf("STATUS: %q", lines)
	}
}

// TestRenameParentOfSelected: renaming a parent carries the selected
// child along; renaming another mailbox leaves the session alone.
func TestRenameParentOfSelected(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.ok("CREATE a/b")
	c.ok("CREATE other")
	c.send("x APPEND a/b {5+}\r\nhello")
	if l := c.line(); !strings.HasPrefix(l, "x OK") {
		t.Fatalf("APPEND: %q", l)
	}
	c.ok("SELECT a/b")
	c.ok("RENAME other other2")
	c.ok("RENAME a c")
	c.ok("NOOP")
	if lines := c.ok("FETCH 1 BODY[]"); len(lines) != 1 || !strings.Contains(lines[0], "hello") {
		t.Fatalf("FETCH after renaming the parent: %q", lines)
	}
	if lines := c.ok("LIST \"\" c/*"); !contains(lines, `* LIST (\HasNoChildren) "/" "c/b"`) {
		t.Fatalf("LIST: %q", lines)
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
