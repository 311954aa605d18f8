package pop3

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// startDovecotPOP3 starts a private Dovecot serving POP3 on a 127.0.0.1
// port (any password accepted), with settings (dovecot.conf lines)
// added, and returns it with that address.
func startDovecotPOP3(t testing.TB, settings string) (*testutil.Dovecot, string) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "pop3",
		// The listener is bound before Dovecot starts and handed to it.
		Listeners: []string{"pop3-login/pop3"},
		Extra: settings + `
service pop3-login {
  inet_listener pop3s {
    port = 0
  }
}
`,
	})
	return d, d.Addr(t, "pop3-login/pop3")
}

// popSession logs in with USER/PASS at addr and returns what the server
// answered to each of cmds, multi-line bodies included.
func popSession(t *testing.T, addr, user, pass string, cmds ...string) []string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	readLine := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: read: %v", addr, err)
		}
		return l
	}
	readLine()
	for _, c := range []string{"USER " + user, "PASS " + pass} {
		fmt.Fprintf(conn, "%s\r\n", c)
		if l := readLine(); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("%s: %s: %q", addr, c, l)
		}
	}
	var out []string
	for _, c := range cmds {
		fmt.Fprintf(conn, "%s\r\n", c)
		first := readLine()
		var b strings.Builder
		b.WriteString(first)
		name := strings.ToUpper(strings.Fields(c)[0])
		multi := strings.HasPrefix(first, "+OK") && (name == "RETR" || name == "TOP" || ((name == "LIST" || name == "UIDL") && len(strings.Fields(c)) == 1))
		for multi {
			l := readLine()
			b.WriteString(l)
			if l == ".\r\n" {
				break
			}
		}
		out = append(out, b.String())
	}
	fmt.Fprintf(conn, "QUIT\r\n")
	readLine()
	return out
}

// TestDovecotSameUIDLsAndBytes serves one Maildir with Dovecot's pop3 and
// with yubin and compares the answers: UIDL (default format and %f),
// STAT, LIST, RETR and TOP must be identical. Messages come both from
// Dovecot (doveadm save) and from yubin's store.
func TestDovecotSameUIDLsAndBytes(t *testing.T) {
	for _, format := range []string{DefaultUIDLFormat, "%f", "%v.%u", "%g"} {
		t.Run(strings.NewReplacer("%", "", ".", "_").Replace(format), func(t *testing.T) {
			d, daddr := startDovecotPOP3(t, "pop3_uidl_format = "+format)
			d.Doveadm(t, []byte(msg1), "save", "-u", "alice")
			d.Doveadm(t, []byte(msg2), "save", "-u", "alice")
			home := d.Home("alice")
			// yubin delivers a third message into the same Maildir.
			st, err := maildir.Open(filepath.Join(home, "Maildir"), maildir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mb.Append(context.Background(), strings.NewReader(msg3), store.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
			mb.Close()
			st.Close()

			srv := &Server{UIDLFormat: format, Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
				return maildir.Open(filepath.Join(d.Home(user), "Maildir"), maildir.Options{})
			})}
			e := startServer(t, srv)
			cmds := []string{"STAT", "LIST", "UIDL", "UIDL 2", "LIST 3", "RETR 1", "RETR 2", "RETR 3", "TOP 1 1", "TOP 3 0"}
			want := popSession(t, daddr, "alice", "x", cmds...)
			got := popSession(t, e.addr, "alice", "secret", cmds...)
			for i := range cmds {
				g, w := got[i], want[i]
				if g != w {
					t.Errorf("%s:\n yubin:   %q\n dovecot: %q", cmds[i], g, w)
				}
			}
			// A deletion through yubin is what Dovecot sees next, and the
			// remaining UIDLs do not change.
			popSession(t, e.addr, "alice", "secret", "DELE 2")
			want = popSession(t, daddr, "alice", "x", "STAT", "UIDL")
			got = popSession(t, e.addr, "alice", "secret", "STAT", "UIDL")
			if !strings.HasPrefix(want[0], "+OK 2 ") || got[0] != want[0] || got[1] != want[1] {
				t.Errorf("after DELE 2 through yubin:\n yubin:   %q\n dovecot: %q", got, want)
			}
		})
	}
}
