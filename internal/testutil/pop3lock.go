package testutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// CheckDovecotPOP3SessionLock starts Dovecot's pop3 with
// pop3_lock_session = yes on mailLocation (saving one message for alice
// first, which creates her mail), logs alice in, and checks that the
// store open returns (given alice's home) finds Dovecot's lock where it
// looks (lockDir) and is refused with store.ErrMailboxInUse, and that it
// gets the lock once Dovecot's session has ended. The same file, taken
// by yubin, keeps Dovecot out: maildir's and pop3's tests show that
// direction with the shared lock format.
func CheckDovecotPOP3SessionLock(t *testing.T, mailLocation string, lockDir func(home string) string, open func(home string) store.SessionLocker) {
	t.Helper()
	d := StartDovecot(t, DovecotConfig{
		Protocols:    "pop3",
		MailLocation: mailLocation,
		Listeners:    []string{"pop3-login/pop3"},
		Extra:        "pop3_lock_session = yes\nservice pop3-login {\n  inet_listener pop3s {\n    port = 0\n  }\n}\n",
	})
	d.Doveadm(t, []byte("From: a@example.org\nSubject: one\n\nhello\n"), "save", "-u", "alice")
	home := d.Home("alice")
	conn, err := net.Dial("tcp", d.Addr(t, "pop3-login/pop3"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	expect := func(prefix string) {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, prefix) {
			t.Fatalf("Dovecot pop3: %q, %v; want %s", l, err, prefix)
		}
	}
	cmd := func(line, prefix string) {
		t.Helper()
		fmt.Fprintf(conn, "%s\r\n", line)
		expect(prefix)
	}
	expect("+OK")
	cmd("USER alice", "+OK")
	cmd("PASS x", "+OK")
	lockPath := filepath.Join(lockDir(home), "dovecot-pop3-session.lock")
	if _, err := os.Stat(lockPath); err != nil {
		var locks []string
		filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error {
			if strings.Contains(filepath.Base(p), "pop3-session") {
				locks = append(locks, p)
			}
			return nil
		})
		t.Fatalf("Dovecot's session lock is not where yubin looks: %v (it is at %v)", err, locks)
	}
	s := open(home)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	l, err := s.LockSession(ctx)
	cancel()
	if err == nil {
		l.Close()
		t.Fatal("yubin took the session lock while Dovecot's pop3 holds it")
	}
	if !errors.Is(err, store.ErrMailboxInUse) {
		t.Fatalf("LockSession: %v, want ErrMailboxInUse", err)
	}
	cmd("QUIT", "+OK")
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err = s.LockSession(ctx)
	if err != nil {
		t.Fatalf("LockSession after Dovecot's QUIT: %v", err)
	}
	if _, err := os.Stat(lockPath); err != nil {
		t.Errorf("yubin's lock is not at %s: %v", lockPath, err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(lockPath); !os.IsNotExist(err) {
		t.Errorf("lock left after Close: %v", err)
	}
}
