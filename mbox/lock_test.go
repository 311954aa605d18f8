package mbox

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestStaleDotlockBroken: a "<mbox>.lock" left by a crashed program is
// removed once older than StaleLockTimeout; a fresh one makes an append
// wait and fail with store.ErrTemporary when the context ends.
func TestStaleDotlockBroken(t *testing.T) {
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: inbox, StaleLockTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	lock := inbox + ".lock"
	if err := os.WriteFile(lock, []byte("12345\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(c, 300*time.Millisecond)
	defer cancel()
	if _, err := mb.Append(short, strings.NewReader("Subject: a\n\nx\n"), store.AppendOptions{}); !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("append under a fresh dotlock: %v", err)
	}
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(lock, old, old)
	if _, err := mb.Append(c, strings.NewReader("Subject: a\n\nx\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append after a stale dotlock: %v", err)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("dotlock left behind: %v", err)
	}
	// A fresh lock of a process of this host that is gone is broken at
	// once.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte(strconv.Itoa(dead.Process.Pid)+":"+s.host+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(c, 5*time.Second)
	defer cancel2()
	if _, err := mb.Append(short2, strings.NewReader("Subject: b\n\ny\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append after a dead process's dotlock: %v", err)
	}
}

// TestPythonFcntlLockRespected: while another process holds a POSIX
// fcntl write lock on the mbox (what Dovecot, Postfix's local(8) and
// mutt take; here Python's fcntl.lockf), appends and reads wait for it.
func TestPythonFcntlLockRespected(t *testing.T) {
	_, mb, inbox := tempInbox(t, Options{})
	c := context.Background()
	release := pythonLock(t, inbox, "")
	short, cancel := context.WithTimeout(c, 300*time.Millisecond)
	defer cancel()
	if _, err := mb.Append(short, strings.NewReader("Subject: a\n\nx\n"), store.AppendOptions{}); !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("append while python holds the lock: %v", err)
	}
	// Released: the append goes through.
	done := make(chan error, 1)
	go func() {
		_, err := mb.Append(c, strings.NewReader("Subject: b\n\ny\n"), store.AppendOptions{})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("append did not wait for the lock: %v", err)
	default:
	}
	go release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append still waiting after the lock was released")
	}
	if st, _ := mb.Status(c); st.Messages != 1 {
		t.Errorf("status %+v", st)
	}
}

// TestPythonWriteLockBlocksReads: a message read waits while another
// program holds the write lock (here Python's fcntl.lockf), and when
// that program rewrote the file in place meanwhile, moving the message,
// the read fails (store.ErrTemporary) instead of returning other bytes;
// the mailbox read again gives the message whole.
func TestPythonWriteLockBlocksReads(t *testing.T) {
	s, mb, inbox := tempInbox(t, Options{})
	c := context.Background()
	appendTo(t, s, "Subject: one\n\nfirst\n")
	uid := appendTo(t, s, "Subject: two\n\nsecond\n")
	r, err := mb.Open(c, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	release := pythonLock(t, inbox, `
data = f.read().replace('Subject: one\n', 'Subject: one\nX-Added: by python\n', 1)
f.seek(0); f.write(data); f.truncate(); f.flush()
`)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, r.Size())
		_, err := r.ReadAt(buf, 0)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("read did not wait for the write lock: %v", err)
	default:
	}
	go release()
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrTemporary) {
			t.Fatalf("read of a message moved in place: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still waiting after the lock was released")
	}
	release()
	if _, err := mb.Poll(c); err != nil {
		t.Fatal(err)
	}
	if got := readBodies(t, s); len(got) != 2 || !strings.Contains(got[1], "second") || !strings.Contains(got[0], "X-Added: by python") {
		t.Errorf("after the change in place: %q", got)
	}
}

// tempInbox opens a store in a temporary directory with its INBOX
// (path returned) open for writing; both are closed at the test's end.
func tempInbox(t *testing.T, opts Options) (*Store, store.Mailbox, string) {
	t.Helper()
	dir := t.TempDir()
	opts.Inbox = filepath.Join(dir, "inbox")
	s, err := Open(filepath.Join(dir, "mail"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return s, mb, opts.Inbox
}

// pythonLock runs a Python script that takes fcntl.lockf on path, prints
// "locked", waits for a line on its standard input, then runs after;
// release sends that line and waits for the process.
func pythonLock(t *testing.T, path, after string) (release func()) {
	t.Helper()
	py := testutil.RequireBinary(t, "python3")
	cmd := exec.Command(py, "-c", "import fcntl, sys\nf = open(sys.argv[1], 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\nsys.stdin.readline()\n"+after, path)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Write([]byte("\n"))
			stdin.Close()
			cmd.Wait()
		})
	}
	t.Cleanup(release)
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("python: %q", line)
	}
	return release
}
