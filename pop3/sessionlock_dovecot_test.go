package pop3

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// rawPOP3 is a POP3 connection with a long read deadline (Dovecot waits
// up to 10 s for a session lock before answering).
type rawPOP3 struct {
	t    *testing.T
	name string
	conn net.Conn
	r    *bufio.Reader
}

func dialPOP3(t *testing.T, name, addr string) *rawPOP3 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &rawPOP3{t: t, name: name, conn: conn, r: bufio.NewReader(conn)}
	p.expect("+OK")
	return p
}

func (p *rawPOP3) expect(prefix string) string {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("%s: read: %v (got %q)", p.name, err, l)
	}
	l = strings.TrimSuffix(l, "\r\n")
	if !strings.HasPrefix(l, prefix) {
		p.t.Fatalf("%s: got %q, want %q", p.name, l, prefix)
	}
	return l
}

func (p *rawPOP3) cmd(line, prefix string) string {
	p.t.Helper()
	fmt.Fprintf(p.conn, "%s\r\n", line)
	return p.expect(prefix)
}

// login sends USER and PASS and checks PASS's answer.
func (p *rawPOP3) login(user, pass, prefix string) string {
	p.t.Helper()
	p.cmd("USER "+user, "+OK")
	return p.cmd("PASS "+pass, prefix)
}

// TestDovecotPOP3LockSession runs Dovecot's pop3 with pop3_lock_session =
// yes and a yubin Server with LockSession on the same Maildir: each
// refuses a login while the other holds the user's
// dovecot-pop3-session.lock, with the same reply, and lets it in after
// the holder's QUIT; yubin takes over the lock of a killed Dovecot
// process.
func TestDovecotPOP3LockSession(t *testing.T) {
	d, daddr := startDovecotPOP3(t, "pop3_lock_session = yes")
	// Dovecot creates the Maildir (owned by its mail user).
	d.Doveadm(t, []byte(msg1), "save", "-u", "alice")
	root := filepath.Join(d.Home("alice"), "Maildir")
	lockPath := filepath.Join(root, maildir.SessionLockName)
	e := startServer(t, &Server{LockSession: true, Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(filepath.Join(d.Home(user), "Maildir"), maildir.Options{})
	})})
	const inUse = "-ERR [IN-USE] Mailbox is locked by another POP3 session."

	// Dovecot holds the lock: yubin refuses.
	dc := dialPOP3(t, "dovecot", daddr)
	dc.login("alice", "x", "+OK Logged in.")
	if _, err := os.Stat(lockPath); err != nil {
		t.Fatalf("Dovecot's session lock is not where yubin looks: %v", err)
	}
	yc := dialPOP3(t, "yubin", e.addr)
	if got := yc.login("alice", "secret", "-ERR"); got != inUse {
		t.Errorf("yubin while Dovecot holds the lock: %q, want %q", got, inUse)
	}
	dc.cmd("QUIT", "+OK")

	// After Dovecot's QUIT yubin logs in (Dovecot removes its lock just
	// after answering: Server.LockSessionWait covers that) and holds the lock:
	// Dovecot refuses, after waiting 10 s for it.
	yc.login("alice", "secret", "+OK Logged in.")
	yc.cmd("STAT", "+OK 1 ")
	dc = dialPOP3(t, "dovecot", daddr)
	start := time.Now()
	if got := dc.login("alice", "x", "-ERR"); got != inUse {
		t.Errorf("Dovecot while yubin holds the lock: %q, want %q", got, inUse)
	}
	t.Logf("Dovecot refused after %v", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(lockPath); err != nil {
		t.Fatalf("yubin's lock is gone after Dovecot's refusal: %v", err)
	}

	// After yubin's QUIT Dovecot logs in, and sees yubin's deletion.
	yc.cmd("DELE 1", "+OK")
	yc.cmd("QUIT", "+OK")
	waitNoFile(t, lockPath)
	dc = dialPOP3(t, "dovecot", daddr)
	dc.login("alice", "x", "+OK Logged in.")
	dc.cmd("STAT", "+OK 0 ")

	// Dovecot's lock holds "<pid>:<host name>". Its pop3 process killed,
	// the lock stays behind; yubin sees the process is gone and takes
	// the lock over (Dovecot would wait 5 minutes for a lock whose pid it
	// cannot check).
	data, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	pidStr, host, _ := strings.Cut(string(data), ":")
	if h, _ := os.Hostname(); host != h {
		t.Errorf("Dovecot's lock holds %q, not this host's name %q", data, h)
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 1 {
		t.Fatalf("Dovecot's lock holds %q", data)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lockPath); err != nil {
		t.Fatalf("lock of the killed process: %v", err)
	}
	yc = dialPOP3(t, "yubin", e.addr)
	yc.login("alice", "secret", "+OK Logged in.")
	yc.cmd("QUIT", "+OK")
	waitNoFile(t, lockPath)
	if logs, err := os.ReadFile(d.Log); err == nil && strings.Contains(string(logs), "dotlock") {
		t.Errorf("Dovecot complained about the lock:\n%s", logs)
	}
}
