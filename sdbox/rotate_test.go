package sdbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestDovecotLogRotation: with Dovecot set to rotate its transaction log
// at once (and rewrite dovecot.index), a yubin handle opened before the
// rotations still follows Dovecot's changes, yubin's writes go to the new
// log, and both sides agree.
func TestDovecotLogRotation(t *testing.T) {
	t.Parallel()
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: "sdbox:~/sdbox",
		Extra: "mail_index_log_rotate_min_size = 1k\nmail_index_log_rotate_max_size = 1k\nmail_index_log_rotate_min_age = 0\nmail_index_rewrite_min_log_bytes = 1\nmail_index_rewrite_max_log_bytes = 1\n"})
	root := filepath.Join(d.Home("alice"), "sdbox")
	os.MkdirAll(root, 0o700)
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	for i := 0; i < 10; i++ {
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: y%d\r\n\r\nx\r\n", i)), store.AppendOptions{Flags: store.Flags{Keywords: []string{"kw" + fmt.Sprint(i%3)}}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	for i := 0; i < 8; i++ {
		d.Doveadm(t, []byte(fmt.Sprintf("Subject: d%d\n\nbody %s\n", i, strings.Repeat("z", 300))), "save", "-u", "alice")
		d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Seen`, "mailbox", "INBOX", "uid", fmt.Sprint(i+1))
		ch, err := mb.Poll(c)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(ch)
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: y-after %d\r\n\r\nx\r\n", i)), store.AppendOptions{Flags: store.Flags{System: store.Flagged}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "mailboxes", "INBOX", mailDirName, log2Name)); err != nil {
		t.Fatalf("Dovecot did not rotate its log: %v", err)
	}
	if seen < 16 {
		t.Errorf("poll reported %d changes over the rotations, want at least 16", seen)
	}
	mb.Poll(c)
	want := doveadmFetch(t, d, store.Inbox, true)
	if len(want) != 26 {
		t.Errorf("dovecot sees %d messages, want 26", len(want))
	}
	compareMessages(t, "handle after rotations", want, handleFetch(t, mb.(*Mailbox)))
	compareMessages(t, "fresh open after rotations", want, yubinFetch(t, s, store.Inbox, true))
}

// handleFetch lists what an open handle knows (flags only).
func handleFetch(t *testing.T, mb *Mailbox) map[string]dovecotMsg {
	t.Helper()
	out := map[string]dovecotMsg{}
	mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
		b := readAllUID(t, mb, mi.UID)
		out[fmt.Sprintf("%s/%d", mb.Name(), mi.UID)] = dovecotMsg{Mailbox: mb.Name(), UID: mi.UID, Flags: normFlags(append(mi.Flags.System.Names(), mi.Flags.Keywords...)), GUID: mi.GUID, Body: b}
		return nil
	})
	return out
}

func readAllUID(t *testing.T, mb *Mailbox, uid uint32) string {
	t.Helper()
	r, err := mb.Open(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := new(strings.Builder)
	buf := make([]byte, r.Size())
	r.ReadAt(buf, 0)
	b.Write(buf)
	return b.String()
}
