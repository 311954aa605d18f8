package imap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// newSharedNSEnv is a server with the shared namespace over one shared
// maildir.Backend (as the fullserver has it).
func newSharedNSEnv(t *testing.T) *testEnv {
	root := t.TempDir()
	return newTestEnvAt(t, root, func(s *Server) {
		s.Backend = maildir.NewBackend(func(_ context.Context, user string) (string, error) {
			return maildirRoot(root, user), nil
		}, maildir.Options{AutoMailboxes: store.DefaultAutoMailboxes(), NoSync: true})
		s.ACL = testSharedACL(root)
		s.Shared = testSharedNamespace(root)
	})
}

// TestSharedPrivateSeenKept: bob's \Seen on alice's shared INBOX is
// kept in his private file, seen by his next session and never by
// alice; a flag replacement keeps alice's own \Seen.
func TestSharedPrivateSeenKept(t *testing.T) {
	env := newSharedNSEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	a.ok(`SETACL INBOX bob lrsw`)
	a.ok(`SELECT INBOX`)
	a.ok(`STORE 2 +FLAGS (\Seen)`)
	b := env.login(t, "bob", "pw")
	b.ok(`SELECT shared/alice/INBOX`)
	if got := strings.Join(b.ok(`FETCH 1:2 FLAGS`), "\n"); !strings.Contains(got, `* 1 FETCH (FLAGS (\Recent))`) && !strings.Contains(got, `* 1 FETCH (FLAGS ())`) || strings.Contains(got, `\Seen`) {
		t.Fatalf("bob sees alice's \\Seen: %s", got)
	}
	b.ok(`STORE 1 +FLAGS (\Seen)`)
	// Replacing keeps alice's \Seen of message 2 and gives bob none.
	b.ok(`STORE 2 FLAGS (\Flagged)`)
	b.ok(`LOGOUT`)

	b2 := env.login(t, "bob", "pw")
	b2.ok(`SELECT shared/alice/INBOX`)
	got := strings.Join(b2.ok(`FETCH 1:2 FLAGS`), "\n")
	if !strings.Contains(got, `* 1 FETCH (FLAGS (\Seen))`) || !strings.Contains(got, `* 2 FETCH (FLAGS (\Flagged))`) {
		t.Fatalf("bob's next session: %s", got)
	}
	if st := strings.Join(b2.ok(`STATUS shared/alice/INBOX (UNSEEN)`), ""); !strings.Contains(st, "UNSEEN 1") {
		t.Errorf("bob's STATUS: %s", st)
	}
	a.ok(`NOOP`)
	got = strings.Join(a.ok(`FETCH 1:2 FLAGS`), "\n")
	if strings.Contains(strings.Split(got, "\n")[0], `\Seen`) || !strings.Contains(got, `* 2 FETCH (FLAGS (\Flagged \Seen`) {
		t.Fatalf("alice's flags: %s", got)
	}
	if _, err := os.Stat(filepath.Join(env.root, "bob", "Maildir", "shared", "alice", PrivateSeenFileName)); err != nil {
		t.Errorf("private file: %v", err)
	}
}

// TestSharedSeenNotPrivate: without PrivateDir, \Seen is the owner's.
func TestSharedSeenNotPrivate(t *testing.T) {
	env := newSharedNSEnv(t)
	env.srv.Shared.PrivateDir = nil
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.ok(`SETACL INBOX bob lrs`)
	b := env.login(t, "bob", "pw")
	b.ok(`SELECT shared/alice/INBOX`)
	b.ok(`STORE 1 +FLAGS (\Seen)`)
	a.ok(`SELECT INBOX`)
	if got := strings.Join(a.ok(`FETCH 1 FLAGS`), "\n"); !strings.Contains(got, `\Seen`) {
		t.Fatalf("alice does not see bob's \\Seen: %s", got)
	}
}

// TestSharedIdleSeesOwner: alice's new message and flag change reach
// bob's IDLE on her shared INBOX.
func TestSharedIdleSeesOwner(t *testing.T) {
	env := newSharedNSEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.ok(`SETACL INBOX bob lr`)
	b := env.login(t, "bob", "pw")
	b.ok(`SELECT shared/alice`)
	b.send("i IDLE")
	if l := b.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	if l := b.line(); l != "* 2 EXISTS" {
		t.Fatalf("idle update: %q", l)
	}
	a.ok(`SELECT INBOX`)
	a.ok(`STORE 1 +FLAGS (\Flagged)`)
	for {
		l := b.line()
		if strings.HasPrefix(l, `* 1 FETCH (`) && strings.Contains(l, `FLAGS (\Flagged`) {
			break
		}
		if !strings.HasPrefix(l, "* ") {
			t.Fatalf("idle: %q", l)
		}
	}
	b.send("DONE")
	if l := b.line(); l != "i OK Idle completed." {
		t.Fatalf("idle end: %q", l)
	}
}

// TestSharedMoveAcross: MOVE from alice's shared mailbox into bob's
// own needs "e" there, and the message is then bob's and gone from
// alice's; COPY the other way needs "i".
func TestSharedMoveAcross(t *testing.T) {
	env := newSharedNSEnv(t)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	a.ok(`SETACL INBOX bob lr`)
	b := env.login(t, "bob", "pw")
	b.ok(`SELECT shared/alice/INBOX`)
	if _, tagged := b.cmd(`MOVE 1 INBOX`); !strings.HasPrefix(tagged, "NO") {
		t.Fatalf("MOVE without e: %s", tagged)
	}
	a.ok(`SETACL INBOX bob lrte`)
	b.ok(`UNSELECT`)
	b.ok(`SELECT shared/alice/INBOX`)
	b.ok(`MOVE 1 INBOX`)
	if st := strings.Join(a.ok(`STATUS INBOX (MESSAGES)`), ""); !strings.Contains(st, "MESSAGES 1") {
		t.Errorf("alice after the move: %s", st)
	}
	if st := strings.Join(b.ok(`STATUS INBOX (MESSAGES)`), ""); !strings.Contains(st, "MESSAGES 1") {
		t.Errorf("bob after the move: %s", st)
	}
	b.ok(`SELECT INBOX`)
	if _, tagged := b.cmd(`COPY 1 shared/alice/INBOX`); !strings.HasPrefix(tagged, "NO [NOPERM]") {
		t.Fatalf("COPY without i: %s", tagged)
	}
	a.ok(`SETACL INBOX bob +i`)
	b.ok(`COPY 1 shared/alice/INBOX`)
	if st := strings.Join(a.ok(`STATUS INBOX (MESSAGES)`), ""); !strings.Contains(st, "MESSAGES 2") {
		t.Errorf("alice after the copy: %s", st)
	}
}

// TestSubtractUIDs: removing UIDs from the private set splits ranges,
// the ends of the UID space included, without walking them.
func TestSubtractUIDs(t *testing.T) {
	set := store.UIDSet{{Start: 1, Stop: 10}, {Start: 20, Stop: 4294967295}}
	got := subtractUIDs(set, []uint32{4294967295, 5, 1, 10, 21, 99})
	want := "2:4,6:9,20,22:98,100:4294967294"
	if got.String() != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
