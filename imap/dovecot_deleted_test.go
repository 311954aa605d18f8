package imap

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDovecotDeletedSelectedMailbox deletes the mailbox another session
// has selected, once in Dovecot 2.3 and once in yubin, and compares what
// the selecting session is told at its next command and in IDLE:
// Dovecot says "* BYE IMAP session state is inconsistent, please
// relogin." and disconnects, with or without QRESYNC.
func TestDovecotDeletedSelectedMailbox(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "imap",
		Listeners: []string{"imap-login/imap"},
		Extra: `
service imap-login {
  inet_listener imaps {
    port = 0
  }
}
`,
	})
	dovecot := d.Addr(t, "imap-login/imap")
	env := newTestEnv(t, nil)
	for _, mode := range []string{"NOOP", "IDLE", "QRESYNC"} {
		want := deletedSelectedTranscript(t, dovecot, "alice", "secret", mode)
		got := deletedSelectedTranscript(t, env.addr, "alice", "secret", mode)
		if got != want {
			t.Errorf("%s: yubin says\n%s\nDovecot says\n%s", mode, got, want)
		}
		if !strings.HasPrefix(want, "* BYE ") {
			t.Errorf("%s: Dovecot no longer says BYE: %s", mode, want)
		}
	}
}

// deletedSelectedTranscript returns what a session that selected a
// mailbox hears after another session deleted it, up to the disconnect
// (or the tagged response, if the server stays connected).
func deletedSelectedTranscript(t *testing.T, addr, user, pass, mode string) string {
	t.Helper()
	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		br := bufio.NewReader(nc)
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		br.ReadString('\n')
		return nc, br
	}
	cmd := func(nc net.Conn, br *bufio.Reader, tag, s string) {
		t.Helper()
		fmt.Fprintf(nc, "%s %s\r\n", tag, s)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s %s: %v", addr, s, err)
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s %s: %s", addr, s, l)
				}
				return
			}
		}
	}
	name := "Gone" + mode
	a, ar := dial()
	cmd(a, ar, "a1", "LOGIN "+user+" "+pass)
	if mode == "QRESYNC" {
		cmd(a, ar, "a2", "ENABLE QRESYNC")
	}
	cmd(a, ar, "a3", "CREATE "+name)
	cmd(a, ar, "a4", "SELECT "+name)
	if mode == "IDLE" {
		fmt.Fprint(a, "a5 IDLE\r\n")
		if l, err := ar.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+ ") {
			t.Fatalf("%s IDLE: %q %v", addr, l, err)
		}
	}
	b, br := dial()
	cmd(b, br, "b1", "LOGIN "+user+" "+pass)
	cmd(b, br, "b2", "DELETE "+name)
	if mode != "IDLE" {
		fmt.Fprint(a, "a6 NOOP\r\n")
	}
	var out []string
	a.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		l, err := ar.ReadString('\n')
		if err != nil {
			break
		}
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "* OK Still here") {
			continue
		}
		out = append(out, l)
		if strings.HasPrefix(l, "a6 ") {
			break
		}
	}
	return strings.Join(out, "\n")
}
