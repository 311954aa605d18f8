package pop3

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNoFlagUpdatesKeepsRecent: a POP3 session takes \Recent of the new
// messages it lists, as Dovecot's pop3 does by default, and with
// NoFlagUpdates (pop3_no_flag_updates = yes) leaves them recent for the
// next IMAP session, as Dovecot does then (TestDovecotPOP3Recent in
// sdbox pins Dovecot's behaviour).
func TestNoFlagUpdatesKeepsRecent(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("NoFlagUpdates=%v", keep), func(t *testing.T) {
			e := startServer(t, &Server{NoFlagUpdates: keep})
			md := e.maildirPath("alice")
			for _, d := range []string{"new", "cur", "tmp"} {
				if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			// Delivered as a delivery agent does: straight into new/.
			for i, m := range []string{msg1, msg2} {
				name := fmt.Sprintf("%d.M%dP1.test", time.Now().Unix(), i)
				if err := os.WriteFile(filepath.Join(md, "new", name), []byte(m), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			recent := func() int {
				n := 0
				for _, m := range e.inbox("alice") {
					if m.Recent {
						n++
					}
				}
				return n
			}
			if n := recent(); n != 2 {
				t.Fatalf("before the session: %d recent, want 2", n)
			}
			c := e.login("alice", "secret")
			c.cmd("STAT", "+OK 2 ")
			c.cmd("RETR 1", "+OK")
			c.multi()
			c.cmd("QUIT", "+OK")
			if !c.closed() {
				t.Fatal("connection open after QUIT")
			}
			want := 0
			if keep {
				want = 2
			}
			if n := recent(); n != want {
				t.Errorf("after the session: %d recent, want %d", n, want)
			}
		})
	}
}
