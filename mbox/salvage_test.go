package mbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// lateMessage is what the late writer (standing in for a Dovecot that
// opened the file before yubin replaced it) appends, with the X-UID
// Dovecot would have given it: one yubin gives another message meanwhile.
const lateMessage = "From MAILER-DAEMON Mon Dec  7 22:00:00 2026\nSubject: late\nX-UID: 4\nStatus: O\n\nthe late message\n\n"

// openSplitInbox opens the Store of dir/mail with its INBOX at
// dir/inbox, and that INBOX.
func openSplitInbox(t *testing.T, dir string) (*Store, store.Mailbox) {
	t.Helper()
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: filepath.Join(dir, "inbox")})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, mb
}

// seededInbox makes a split-layout mailbox root whose INBOX has n
// messages, "message 1" to "message n": the root and the INBOX file.
func seededInbox(t *testing.T, n int) (dir, inbox string) {
	t.Helper()
	dir = t.TempDir()
	s, mb := openSplitInbox(t, dir)
	appendNumbered(t, mb, 1, n)
	mb.Close()
	s.Close()
	return dir, filepath.Join(dir, "inbox")
}

// appendNumbered appends messages "message from" to "message to" and
// returns their UIDs.
func appendNumbered(t *testing.T, mb store.Mailbox, from, to int) []uint32 {
	t.Helper()
	var uids []uint32
	for i := from; i <= to; i++ {
		r, err := mb.Append(context.Background(), strings.NewReader(fmt.Sprintf("Subject: m%d\n\nmessage %d\n", i, i)), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	return uids
}

// TestCrashBeforeMoveIn: a writer opens the mailbox file, a yubin
// process replaces it (an expunge, rewritten by rename) and gives UIDs 4
// and 5 to two appends; the writer then appends its message, with X-UID
// 4, to the replaced file, and yubin is killed (SIGKILL) before it moves
// the message in. The next open finds the replaced file by its recovery
// link and moves the message in once, under a UID after every UID yubin
// gave; a later open does not move it again.
func TestCrashBeforeMoveIn(t *testing.T) {
	dir, inbox := seededInbox(t, 3)
	c := context.Background()

	// The late writer has the file open before the rewrite.
	late, err := os.OpenFile(inbox, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestLateAppendHelper$")
	cmd.Env = append(os.Environ(), "YUBIN_MBOX_LATE_DIR="+dir)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "rewrote 4 5\n" {
		t.Fatalf("helper: %q", line)
	}
	// The writer gets its lock on the replaced file and appends.
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(late.Fd(), unix.F_OFD_SETLKW, &lk); err != nil {
		t.Fatal(err)
	}
	if _, err := late.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := late.WriteString(lateMessage); err != nil {
		t.Fatal(err)
	}
	lk.Type = unix.F_UNLCK
	unix.FcntlFlock(late.Fd(), unix.F_OFD_SETLK, &lk)
	cmd.Process.Kill()
	cmd.Wait()
	if links, _ := filepath.Glob(filepath.Join(dir, ".inbox"+replacedMark+"*")); len(links) != 1 {
		t.Fatalf("recovery links after the kill: %v", links)
	}

	for open := 1; open <= 2; open++ {
		s, mb := openSplitInbox(t, dir)
		var uids []uint32
		lateUID := uint32(0)
		err := mb.Messages(c, nil, func(mi *store.MessageInfo) error {
			uids = append(uids, mi.UID)
			rc, err := mb.Open(c, mi.UID)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if strings.Contains(string(b), "the late message") {
				if lateUID != 0 {
					t.Errorf("open %d: the late message twice (UIDs %d, %d)", open, lateUID, mi.UID)
				}
				lateUID = mi.UID
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mb.Close()
		s.Close()
		// 1 expunged; 2, 3, yubin's 4 and 5, the late one after them.
		if len(uids) != 5 || uids[0] != 2 || uids[1] != 3 || uids[2] != 4 || uids[3] != 5 {
			t.Fatalf("open %d: UIDs %v", open, uids)
		}
		if lateUID <= 5 {
			t.Fatalf("open %d: the late message has UID %d (UIDs %v): not after every UID yubin gave", open, lateUID, uids)
		}
	}
	data, _ := os.ReadFile(inbox)
	if n := strings.Count(string(data), "the late message"); n != 1 {
		t.Errorf("the late message is in the mailbox file %d times", n)
	}
}

// TestLateAppendHelper is TestCrashBeforeMoveIn's yubin: it expunges UID
// 1 (a rewrite by rename), appends two messages, says which UIDs they
// got, and waits to be killed.
func TestLateAppendHelper(t *testing.T) {
	dir := os.Getenv("YUBIN_MBOX_LATE_DIR")
	if dir == "" {
		t.Skip("run by TestCrashBeforeMoveIn")
	}
	_, mb := openSplitInbox(t, dir)
	c := context.Background()
	mb.SetFlags(c, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if _, err := mb.Expunge(c, store.UIDSetOf(1)); err != nil {
		t.Fatal(err)
	}
	got := appendNumbered(t, mb, 4, 5)
	fmt.Printf("rewrote %d %d\n", got[0], got[1])
	select {}
}

// TestRecoveryLinkAtOpen: recovery links a yubin left (found at open,
// their time up): one whose file got a message after its recorded size
// has the message moved in and is removed; one whose addition is not a
// message is renamed aside (kept, not retried); one to the mailbox file
// itself (a crash before the rename) is removed without moving anything.
func TestRecoveryLinkAtOpen(t *testing.T) {
	dir, inbox := seededInbox(t, 2)
	c := context.Background()
	data, err := os.ReadFile(inbox)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).Unix()
	link := func(extra string) string {
		p := filepath.Join(dir, fmt.Sprintf(".inbox%s%d.%d", replacedMark, past, len(data)))
		os.Remove(p)
		if err := os.WriteFile(p+".tmp", append(append([]byte{}, data...), extra...), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := link(lateMessage)
	// Distinct sizes make distinct names.
	bad := filepath.Join(dir, fmt.Sprintf(".inbox%s%d.%d", replacedMark, past, len(data)-1))
	if err := os.WriteFile(bad, append(append([]byte{}, data[:len(data)-1]...), "\nnot a message\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, fmt.Sprintf(".inbox%s%d.%d", replacedMark, past, 0))
	if err := os.Link(inbox, self); err != nil {
		t.Fatal(err)
	}

	s, mb := openSplitInbox(t, dir)
	defer s.Close()
	defer mb.Close()
	var uids []uint32
	mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		uids = append(uids, mi.UID)
		return nil
	})
	if len(uids) != 3 || uids[2] != 3 {
		t.Errorf("UIDs %v, want 1, 2 and the late message's 3", uids)
	}
	for _, p := range []string{good, bad, self} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", filepath.Base(p))
		}
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, ".inbox.yubin-unreadable.*")); len(kept) != 1 {
		t.Errorf("unreadable additions kept aside: %v, want 1 file", kept)
	}
	if got, _ := os.ReadFile(inbox); strings.Count(string(got), "the late message") != 1 || strings.Contains(string(got), "not a message") {
		t.Errorf("mailbox file after the salvage:\n%s", got)
	}
}
