package sdbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// dovecotPOP3 runs Dovecot's pop3 binary pre-authenticated as alice on
// d's configuration plus extra settings and feeds it script.
func dovecotPOP3(t *testing.T, d *testutil.Dovecot, extra, script string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "pop3")
	conf := d.Conf
	if extra != "" {
		base, err := os.ReadFile(d.Conf)
		if err != nil {
			t.Fatal(err)
		}
		conf = filepath.Join(d.Dir, "pop3-extra.conf")
		if err := os.WriteFile(conf, append(base, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Env = []string{"USER=alice", "HOME=" + d.Home("alice"), "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.PlainUID, Gid: testutil.PlainGID}}
	}
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dovecot pop3: %v\n%s", err, out)
	}
	return string(out)
}

// TestDovecotPOP3Recent pins what a POP3 session does to \Recent, as
// Dovecot 2.3's pop3 does it: by default it takes the new messages (its
// mailbox is opened with MAILBOX_FLAG_DROP_RECENT), as a writable yubin
// handle that lists the mailbox does; with pop3_no_flag_updates = yes
// it leaves them recent, as a yubin handle opened with KeepRecent does.
func TestDovecotPOP3Recent(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	appendN(t, root, 2)
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	c := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recentNow := func() string {
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		return fmt.Sprint(recentUIDs(t, mb))
	}
	if out := dovecotPOP3(t, d, "pop3_no_flag_updates = yes\n", "STAT\nQUIT\n"); !strings.Contains(out, "+OK 2 ") {
		t.Fatalf("pop3: %s", out)
	}
	if got := recentNow(); got != "[1 2]" {
		t.Errorf("after Dovecot's pop3 with pop3_no_flag_updates: recent %s, want [1 2]", got)
	}
	if out := dovecotPOP3(t, d, "", "STAT\nQUIT\n"); !strings.Contains(out, "+OK 2 ") {
		t.Fatalf("pop3: %s", out)
	}
	if got := recentNow(); got != "[]" {
		t.Errorf("after Dovecot's pop3: recent %s, want none", got)
	}

	// yubin's writable handle that lists (what yubin's POP3 opens) takes
	// them the same way.
	appendN(t, root, 2)
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(recentUIDs(t, mb)); got != "[3 4]" {
		t.Errorf("yubin's writable handle: recent %s, want [3 4]", got)
	}
	mb.Close()
	if out := doveadm(t, d, "mailbox", "status", "-u", "alice", "recent", store.Inbox); !strings.Contains(out, "recent=0") {
		t.Errorf("doveadm status after yubin's handle: %q", out)
	}

	// With KeepRecent (what yubin's POP3 opens under NoFlagUpdates) the
	// handle shows them recent and leaves them so, as Dovecot's pop3
	// with pop3_no_flag_updates does.
	appendN(t, root, 2)
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	mb, err = s.OpenMailbox(c, store.Inbox, store.OpenOptions{KeepRecent: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(recentUIDs(t, mb)); got != "[5 6]" {
		t.Errorf("yubin's KeepRecent handle: recent %s, want [5 6]", got)
	}
	mb.Close()
	if got := recentNow(); got != "[5 6]" {
		t.Errorf("after yubin's KeepRecent handle: recent %s, want [5 6]", got)
	}
	if out := doveadm(t, d, "mailbox", "status", "-u", "alice", "recent", store.Inbox); !strings.Contains(out, "recent=2") {
		t.Errorf("doveadm status after yubin's KeepRecent handle: %q", out)
	}
}
