package imap

import (
	"strings"
	"testing"
)

// TestUIDCopyMoveOfAbsentUIDsCopiesNothing: UID COPY and UID MOVE of a
// UID the mailbox does not hold, or that another session has expunged,
// copy nothing. (bench/imap's checker found UID COPY 1, below the
// mailbox's lowest UID, copying every message: the store reads an empty
// selection as "all".)
func TestUIDCopyMoveOfAbsentUIDsCopiesNothing(t *testing.T) {
	t.Parallel()
	env, a := threeMessages(t)
	a.ok("CREATE Dest")
	a.ok("SELECT INBOX")
	messages := func(box string) string {
		lines, st := a.cmd("STATUS " + box + " (MESSAGES)")
		if !strings.HasPrefix(st, "OK") || len(lines) != 1 {
			t.Fatalf("STATUS %s: %q %s", box, lines, st)
		}
		return lines[0]
	}
	for _, cmd := range []string{"UID COPY 9 Dest", "UID MOVE 9 Dest", "UID COPY 9:12 Dest"} {
		if _, st := a.cmd(cmd); !strings.HasPrefix(st, "OK") || strings.Contains(st, "COPYUID") {
			t.Errorf("%s: %s, want OK without COPYUID", cmd, st)
		}
		if got := messages("Dest"); !strings.Contains(got, "(MESSAGES 0)") {
			t.Fatalf("after %s: %s, want no message copied", cmd, got)
		}
	}
	// UID 1 expunged by another session, still in this one's view.
	b := env.login(t, "alice", "secret")
	b.ok("SELECT INBOX")
	b.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("UID EXPUNGE 1")
	for _, cmd := range []string{"UID COPY 1 Dest", "UID MOVE 1 Dest"} {
		a.cmd(cmd)
		if got := messages("Dest"); !strings.Contains(got, "(MESSAGES 0)") {
			t.Fatalf("after %s of a message expunged elsewhere: %s, want no message copied", cmd, got)
		}
	}
	if got := messages("INBOX"); !strings.Contains(got, "(MESSAGES 2)") {
		t.Fatalf("INBOX: %s, want the 2 messages left", got)
	}
}

// TestUIDStoreExpungeOfAbsentUIDsChangeNothing: UID STORE and UID
// EXPUNGE of UIDs the mailbox does not hold change no message.
func TestUIDStoreExpungeOfAbsentUIDsChangeNothing(t *testing.T) {
	t.Parallel()
	_, a := threeMessages(t)
	a.ok("SELECT INBOX")
	a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
	a.ok("UID STORE 9 +FLAGS (\\Flagged)")
	a.ok("UID STORE 7:8 +FLAGS.SILENT (\\Deleted)")
	a.ok("UID EXPUNGE 9")
	lines := a.ok("FETCH 1:* (FLAGS)")
	want := []string{`* 1 FETCH (FLAGS (\Recent))`, `* 2 FETCH (FLAGS (\Deleted \Recent))`, `* 3 FETCH (FLAGS (\Recent))`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("flags after STORE and EXPUNGE of absent UIDs:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// threeMessages is a server whose user alice has three messages (UIDs
// 1 to 3) in INBOX, and a session of hers.
func threeMessages(t *testing.T) (*testEnv, *client) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	for i := 0; i < 3; i++ {
		a.appendRaw("INBOX", "Subject: m\r\n\r\nbody\r\n")
	}
	return env, a
}
