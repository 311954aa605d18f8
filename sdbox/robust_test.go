package sdbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// robustBox makes a store with n messages in INBOX and returns it and
// INBOX's dbox-Mails directory.
func robustBox(t *testing.T, n int) (*Store, string) {
	t.Helper()
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := mb.Append(context.Background(), strings.NewReader(testBody(i)), store.AppendOptions{Flags: store.Flags{System: store.Seen}}); err != nil {
			t.Fatal(err)
		}
	}
	mb.Close()
	return s, filepath.Join(s.Root(), "mailboxes", "INBOX", mailDirName)
}

func testBody(i int) string {
	return "Subject: robust " + strings.Repeat("x", i) + "\r\n\r\nbody\r\n"
}

func openInbox(t *testing.T, s *Store) *Mailbox {
	t.Helper()
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("open with damage: %v", err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb.(*Mailbox)
}

func uidsIn(t *testing.T, mb store.Mailbox) []uint32 {
	t.Helper()
	var out []uint32
	if err := mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
		out = append(out, mi.UID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDamagedMessageFiles: truncated and garbage u.N files are listed,
// fail to open with an error, and stay on disk; a metadata block
// without its final empty line still gives the body.
func TestDamagedMessageFiles(t *testing.T) {
	s, md := robustBox(t, 4)
	u2 := filepath.Join(md, "u.2")
	data, _ := os.ReadFile(u2)
	os.WriteFile(u2, data[:len(data)/2], 0o600)
	os.WriteFile(filepath.Join(md, "u.3"), []byte("this is not a dbox file\n"), 0o600)
	u4 := filepath.Join(md, "u.4")
	data, _ = os.ReadFile(u4)
	os.WriteFile(u4, data[:len(data)-1], 0o600) // no empty line at the end
	mb := openInbox(t, s)
	if got := uidsIn(t, mb); len(got) != 4 {
		t.Fatalf("listed %v", got)
	}
	c := context.Background()
	for _, uid := range []uint32{2, 3} {
		if r, err := mb.Open(c, uid); err == nil {
			r.Close()
			t.Errorf("damaged u.%d opened", uid)
		}
	}
	for _, uid := range []uint32{1, 4} {
		r, err := mb.Open(c, uid)
		if err != nil {
			t.Fatalf("u.%d: %v", uid, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != testBody(int(uid)-1) {
			t.Errorf("u.%d body %q", uid, b)
		}
	}
	for _, n := range []string{"u.2", "u.3"} {
		if _, err := os.Stat(filepath.Join(md, n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
}

// TestDamagedIndex: an index whose header or record size is wrong opens
// with the base header, the log and the files (no flags for messages
// only the index knew), and the damage is reported.
func TestDamagedIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int
		val  uint32
	}{{"header size", 4, 1 << 30}, {"record size", 8, 3}, {"record size big", 8, 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			md := filepath.Join(dir, "mailboxes", "INBOX", mailDirName)
			os.MkdirAll(md, 0o700)
			src := goldenPath(t, "synthesized")
			for _, n := range []string{"dovecot.index", "u.3", "u.7"} {
				b, err := os.ReadFile(filepath.Join(src, n))
				if err != nil {
					t.Fatal(err)
				}
				if n == "dovecot.index" {
					binary.LittleEndian.PutUint32(b[tc.off:], tc.val)
				}
				os.WriteFile(filepath.Join(md, n), b, 0o600)
			}
			s, err := Open(dir, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			mb := openInbox(t, s)
			if len(mb.Damage()) == 0 {
				t.Error("no damage reported")
			}
			if got := uidsIn(t, mb); len(got) != 2 || got[0] != 3 || got[1] != 7 {
				t.Errorf("listed %v, want the two files", got)
			}
			if st, _ := mb.Status(context.Background()); st.UIDValidity != 1234567890 {
				t.Errorf("UIDVALIDITY %d, want the index's", st.UIDValidity)
			}
		})
	}
}

// TestTornLogRecord: a log whose last transaction was cut short opens
// with everything before it, reports it, and the next append replaces
// the torn bytes so that readers (Dovecot too) see the new record.
func TestTornLogRecord(t *testing.T) {
	s, md := robustBox(t, 3)
	logPath := filepath.Join(md, logName)
	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	torn := newTx()
	torn.add(recAppend|recExternal, []byte{9, 0, 0, 0, 8, 0, 0, 0})
	b := torn.bytes()
	f.Write(b[:len(b)-5])
	f.Close()
	mb := openInbox(t, s)
	if got := uidsIn(t, mb); len(got) != 3 {
		t.Fatalf("listed %v", got)
	}
	if len(mb.Damage()) == 0 {
		t.Error("torn transaction not reported")
	}
	w, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := w.Append(context.Background(), strings.NewReader(testBody(9)), store.AppendOptions{})
	if err != nil || res.UID != 4 {
		t.Fatalf("append after torn record: %+v %v", res, err)
	}
	l, err := loadState(md)
	if err != nil || len(l.st.msgs) != 4 || len(l.damage) != 0 {
		t.Fatalf("after append: %d messages, damage %v, %v", len(l.st.msgs), l.damage, err)
	}
	if kept, _ := filepath.Glob(filepath.Join(md, logName+".damaged.*")); len(kept) != 1 {
		t.Errorf("torn bytes not kept aside: %v", kept)
	}
}

// TestGarbageLog: a log with a bad record size in the middle keeps the
// records before it.
func TestGarbageLog(t *testing.T) {
	s, md := robustBox(t, 2)
	logPath := filepath.Join(md, logName)
	data, _ := os.ReadFile(logPath)
	data = append(data, bytes.Repeat([]byte{0x11}, 64)...)
	os.WriteFile(logPath, data, 0o600)
	mb := openInbox(t, s)
	if got := uidsIn(t, mb); len(got) != 2 || len(mb.Damage()) == 0 {
		t.Fatalf("listed %v, damage %v", got, mb.Damage())
	}
}
