package pop3_test

// The same mailbox served over IMAP and POP3 at once, by yubin's imap
// and pop3 servers, as examples/fullserver wires them. This is an
// external test package: the pop3 package itself does not import imap.

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// lineConn is a raw text-protocol connection with deadlines.
type lineConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (l *lineConn) send(s string) {
	l.t.Helper()
	l.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := l.c.Write([]byte(s + "\r\n")); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lineConn) line() string {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("read: %v (got %q)", err, s)
	}
	return strings.TrimRight(s, "\r\n")
}

// until reads lines up to one starting with prefix and returns the lines
// before it and that line.
func (l *lineConn) until(prefix string) ([]string, string) {
	l.t.Helper()
	var before []string
	for {
		s := l.line()
		if strings.HasPrefix(s, prefix) {
			return before, s
		}
		before = append(before, s)
	}
}

// pop sends a POP3 command and checks the reply's prefix.
func (l *lineConn) pop(cmd, want string) string {
	l.t.Helper()
	l.send(cmd)
	s := l.line()
	if !strings.HasPrefix(s, want) {
		l.t.Fatalf("%s: %q, want %q", cmd, s, want)
	}
	return s
}

// imapOK sends a tagged IMAP command and returns its untagged lines.
func (l *lineConn) imapOK(tag, cmd string) []string {
	l.t.Helper()
	l.send(tag + " " + cmd)
	lines, st := l.until(tag + " ")
	if !strings.HasPrefix(st, tag+" OK") {
		l.t.Fatalf("%s: %q", cmd, st)
	}
	return lines
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

type mixedEnv struct {
	imapAddr, popAddr string
	deliver           func(msgs ...string)
}

// startIMAPAndPOP3 serves alice's Maildir over IMAP and POP3. With
// shared, both servers use one maildir.Backend (one Store per user, as
// examples/fullserver does); otherwise each has its own, as two
// processes would, and changes travel through the files (inotify).
func startIMAPAndPOP3(t *testing.T, shared bool) *mixedEnv {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("alice:{PLAIN}secret::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pf := &auth.PasswdFile{Path: passwd}
	if err := pf.Reload(); err != nil {
		t.Fatal(err)
	}
	authn := &auth.Service{PassDB: pf, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1}
	newBackend := func() *maildir.Backend {
		return maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return filepath.Join(dir, user, "Maildir"), nil
		}, maildir.Options{NoSync: true, Hostname: "test"})
	}
	ib := testBackend(t, dir, newBackend())
	pb := ib
	if !shared {
		pb = testBackend(t, dir, newBackend())
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	isrv := &imap.Server{Authenticator: authn, Backend: ib}
	psrv := &pop3.Server{Authenticator: authn, Backend: pb}
	il, pl := listen(), listen()
	go isrv.Serve(il)
	go psrv.Serve(pl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		isrv.Shutdown(ctx)
		psrv.Shutdown(ctx)
	})
	deliver := func(msgs ...string) {
		st, err := ib.Open(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		for _, m := range msgs {
			if _, err := mb.Append(context.Background(), strings.NewReader(m), store.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &mixedEnv{imapAddr: il.Addr().String(), popAddr: pl.Addr().String(), deliver: deliver}
}

// TestIMAPAndPOP3SameMailbox: a message deleted over POP3 (at QUIT)
// disappears from an IMAP session in IDLE, and a message expunged over
// IMAP is gone for a POP3 session that listed it ("-ERR [SYS/TEMP]" on
// RETR) and absent from the next one.
func TestIMAPAndPOP3SameMailbox(t *testing.T) {
	for _, mode := range []struct {
		name   string
		shared bool
	}{{"sharedStore", true}, {"separateStores", false}} {
		t.Run(mode.name, func(t *testing.T) {
			e := startIMAPAndPOP3(t, mode.shared)
			e.deliver("Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n", "Subject: three\r\n\r\n3\r\n")

			im := dialLines(t, e.imapAddr)
			im.line() // greeting
			im.imapOK("a", "LOGIN alice secret")
			if lines := im.imapOK("b", "SELECT INBOX"); !contains(lines, "* 3 EXISTS") {
				t.Fatalf("SELECT: %q", lines)
			}
			im.send("c IDLE")
			if l := im.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: %q", l)
			}

			// POP3 deletes message 1; IMAP hears of it while idling.
			p := dialLines(t, e.popAddr)
			p.line()
			p.pop("USER alice", "+OK")
			p.pop("PASS secret", "+OK Logged in.")
			p.pop("STAT", "+OK 3 ")
			p.pop("DELE 1", "+OK")
			p.pop("QUIT", "+OK Logging out, messages deleted.")
			// (The store expunges by flagging \Deleted first, so a FETCH
			// of the flag may come before the EXPUNGE.)
			for {
				l := im.line()
				if l == "* 1 EXPUNGE" {
					break
				}
				if !strings.HasPrefix(l, "* 1 FETCH (") || !strings.Contains(l, "FLAGS (\\Deleted") {
					t.Fatalf("IMAP in IDLE after the POP3 deletion: %q", l)
				}
			}
			im.send("DONE")
			im.until("c OK")

			// A POP3 session lists "two" and "three"; IMAP expunges "two".
			p = dialLines(t, e.popAddr)
			p.line()
			p.pop("USER alice", "+OK")
			p.pop("PASS secret", "+OK Logged in.")
			p.pop("STAT", "+OK 2 ")
			im.imapOK("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
			if lines := im.imapOK("e", "EXPUNGE"); !contains(lines, "* 1 EXPUNGE") {
				t.Fatalf("IMAP EXPUNGE: %q", lines)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				// Separate stores learn of the expunge from the files.
				p.send("RETR 1")
				l := p.line()
				if strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
					break
				}
				if !strings.HasPrefix(l, "+OK") || time.Now().After(deadline) {
					t.Fatalf("RETR of a message IMAP expunged: %q", l)
				}
				p.until(".")
				time.Sleep(50 * time.Millisecond)
			}
			p.pop("RETR 2", "+OK")
			if body, _ := p.until("."); !contains(body, "Subject: three") {
				t.Fatalf("RETR 2: %q", body)
			}
			p.pop("QUIT", "+OK")

			p = dialLines(t, e.popAddr)
			p.line()
			p.pop("USER alice", "+OK")
			p.pop("PASS secret", "+OK Logged in.")
			p.pop("STAT", "+OK 1 ")
			p.pop("QUIT", "+OK")
		})
	}
}
