package pop3

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestOnlyInboxVisible: messages in other mailboxes of the user never
// show over POP3.
func TestOnlyInboxVisible(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1)
	st := e.openStore("alice")
	ctx := context.Background()
	if err := st.CreateMailbox(ctx, "Archive", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenMailbox(ctx, "Archive", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{msg2, msg3} {
		if _, err := mb.Append(ctx, strings.NewReader(m), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mb.Close()
	c := e.login("alice", "secret")
	c.cmd("STAT", "+OK 1 ")
	c.cmd("LIST", "+OK 1 messages:")
	if got := c.multi(); strings.Count(got, "\r\n") != 1 {
		t.Fatalf("LIST shows more than INBOX:\n%s", got)
	}
	c.cmd("RETR 2", "-ERR There's no message 2.")
}

// TestUIDLStableAcrossRestart: the UIDLs a client saw are the same after
// the server is stopped and a new one (with new stores) serves the
// Maildir, even after RETR renamed the files (\Seen) and a new message
// arrived; the new message gets a UIDL of its own.
func TestUIDLStableAcrossRestart(t *testing.T) {
	for _, format := range []string{DefaultUIDLFormat, "%f", "%g"} {
		t.Run(strings.NewReplacer("%", "").Replace(format), func(t *testing.T) {
			e1 := startServer(t, &Server{UIDLFormat: format})
			e1.deliver("alice", msg1, msg2)
			c := e1.login("alice", "secret")
			c.cmd("UIDL", "+OK")
			before := c.multi()
			for _, n := range []string{"1", "2"} {
				c.cmd("RETR "+n, "+OK")
				c.multi()
			}
			c.cmd("QUIT", "+OK")
			if infos := e1.inbox("alice"); infos[0].Flags.System&store.Seen == 0 {
				t.Fatal("RETR did not set \\Seen (the files were not renamed)")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e1.srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			e1.deliver("alice", msg3)

			// A new server on the same Maildir.
			e2 := startServer(t, &Server{UIDLFormat: format, Backend: maildirBackend(e1.root)})
			e2.root = e1.root
			c = e2.login("alice", "secret")
			c.cmd("UIDL", "+OK")
			after := c.multi()
			if !strings.HasPrefix(after, before) {
				t.Fatalf("UIDLs changed across the restart:\nbefore %q\nafter  %q", before, after)
			}
			lines := strings.Split(strings.TrimSuffix(after, "\r\n"), "\r\n")
			if len(lines) != 3 {
				t.Fatalf("UIDL after the restart: %q", after)
			}
			third := strings.Fields(lines[2])
			for _, l := range lines[:2] {
				if strings.Fields(l)[1] == third[1] {
					t.Fatalf("the new message reuses UIDL %s", third[1])
				}
			}
		})
	}
}
