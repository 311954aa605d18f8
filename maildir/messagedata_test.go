package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// msgDataEnv is a Maildir with n messages in INBOX.
func msgDataEnv(t *testing.T, n int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb := openInbox(t, s)
	defer mb.Close()
	for i := 0; i < n; i++ {
		if _, err := mb.Append(context.Background(), strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func openInbox(t *testing.T, s *Store) store.Mailbox {
	t.Helper()
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// openDataAt opens a fresh Store on root (as after a restart) and its
// INBOX; the returned function closes both.
func openDataAt(t *testing.T, root string) (store.MessageDataStore, func()) {
	t.Helper()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mb := openInbox(t, s)
	return mb.(store.MessageDataStore), func() { mb.Close(); s.Close() }
}

// reopenData returns INBOX's message data under name, by UID, read by a
// fresh Store.
func reopenData(t *testing.T, root, name string) map[uint32]string {
	t.Helper()
	ds, done := openDataAt(t, root)
	defer done()
	got := map[uint32]string{}
	err := ds.MessageData(context.Background(), nil, name, func(uid uint32, data []byte) error {
		got[uid] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func setData(t *testing.T, root string, uids []uint32, name string, val func(uint32) string) {
	t.Helper()
	ds, done := openDataAt(t, root)
	defer done()
	for _, u := range uids {
		if err := ds.SetMessageData(context.Background(), u, name, []byte(val(u))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessageDataKeptAcrossRestarts(t *testing.T) {
	root := msgDataEnv(t, 10)
	setData(t, root, []uint32{1, 2, 3, 5}, "a", func(u uint32) string { return fmt.Sprintf("a%d", u) })
	setData(t, root, []uint32{2}, "b", func(u uint32) string { return "b" })
	setData(t, root, []uint32{3}, "a", func(u uint32) string { return "replaced" })
	got := reopenData(t, root, "a")
	want := map[uint32]string{1: "a1", 2: "a2", 3: "replaced", 5: "a5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	if got := reopenData(t, root, "b"); len(got) != 1 || got[2] != "b" {
		t.Fatalf("name b: %v", got)
	}

	// Only the asked UIDs; unknown UIDs and bad names refused.
	s, _ := Open(root, Options{NoSync: true})
	defer s.Close()
	mb := openInbox(t, s)
	defer mb.Close()
	ds := mb.(store.MessageDataStore)
	var uids []uint32
	ds.MessageData(context.Background(), store.UIDSet{{Start: 2, Stop: 4}}, "a", func(uid uint32, _ []byte) error {
		uids = append(uids, uid)
		return nil
	})
	if fmt.Sprint(uids) != "[2 3]" {
		t.Fatalf("UIDs 2:4: %v", uids)
	}
	if err := ds.SetMessageData(context.Background(), 99, "a", nil); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("unknown UID: %v", err)
	}
	if err := ds.SetMessageData(context.Background(), 1, "bad name", nil); err == nil {
		t.Fatal("a name with a space was accepted")
	}
	// Expunged messages' data is not given.
	if _, _, err := mb.SetFlags(context.Background(), store.UIDSet{{Start: 1, Stop: 1}}, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := reopenData(t, root, "a"); got[1] != "" || len(got) != 3 {
		t.Fatalf("after expunge: %v", got)
	}
}

// A record cut short by a crash, or one whose checksum fails, ends the
// file: the records before it are read, the file is cut there, and
// records appended afterwards are read after the next restart.
func TestMessageDataTornWrite(t *testing.T) {
	root := msgDataEnv(t, 6)
	val := func(u uint32) string { return strings.Repeat(fmt.Sprint(u), 20) }
	setData(t, root, []uint32{1, 2, 3, 4}, "k", val)
	path := filepath.Join(root, msgDataFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for cut := len(data) - 1; cut > len(data)-30; cut -= 7 {
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		got := reopenData(t, root, "k")
		if len(got) != 3 || got[3] != val(3) || got[4] != "" {
			t.Fatalf("cut at %d of %d: %v", cut, len(data), got)
		}
	}
	setData(t, root, []uint32{5}, "k", val)
	if got := reopenData(t, root, "k"); len(got) != 4 || got[5] != val(5) {
		t.Fatalf("append after a torn record: %v", got)
	}

	// A flipped byte in the second record: the first one stays.
	data, _ = os.ReadFile(path)
	i := bytes.Index(data, []byte(val(2)))
	data[i] ^= 0x40
	os.WriteFile(path, data, 0o600)
	if got := reopenData(t, root, "k"); len(got) != 1 || got[1] != val(1) {
		t.Fatalf("corrupt record: %v", got)
	}
	// Garbage instead of a header: started again, no error.
	os.WriteFile(path, []byte("garbage"), 0o600)
	if got := reopenData(t, root, "k"); len(got) != 0 {
		t.Fatalf("garbage file: %v", got)
	}
	setData(t, root, []uint32{6}, "k", val)
	if got := reopenData(t, root, "k"); len(got) != 1 || got[6] != val(6) {
		t.Fatalf("after garbage: %v", got)
	}
}

// When at least half the records are stale the file is rewritten with
// the live ones.
func TestMessageDataRewrittenWhenHalfStale(t *testing.T) {
	root := msgDataEnv(t, 1)
	// One message, its data replaced msgDataRewriteMin times.
	ds, done := openDataAt(t, root)
	for i := 0; i < msgDataRewriteMin; i++ {
		if err := ds.SetMessageData(context.Background(), 1, "k", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	done()
	path := filepath.Join(root, msgDataFile)
	before, _ := os.Stat(path)
	if got := reopenData(t, root, "k"); got[1] != fmt.Sprint(msgDataRewriteMin-1) {
		t.Fatalf("latest record: %v", got)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/10 {
		t.Fatalf("file not rewritten: %d bytes before, %d after", before.Size(), after.Size())
	}
	if got := reopenData(t, root, "k"); got[1] != fmt.Sprint(msgDataRewriteMin-1) {
		t.Fatalf("after the rewrite: %v", got)
	}
}

// Data of another UIDVALIDITY is never given.
func TestMessageDataOtherUIDValidity(t *testing.T) {
	root := msgDataEnv(t, 2)
	setData(t, root, []uint32{1, 2}, "k", func(uint32) string { return "v" })
	path := filepath.Join(root, msgDataFile)
	data, _ := os.ReadFile(path)
	data[8] ^= 1 // the UIDVALIDITY in the header
	os.WriteFile(path, data, 0o600)
	if got := reopenData(t, root, "k"); len(got) != 0 {
		t.Fatalf("other UIDVALIDITY: %v", got)
	}
}

// FuzzMessageDataFile reads arbitrary files as message data: no panic,
// and every record given lies within the good prefix.
func FuzzMessageDataFile(f *testing.F) {
	good := msgDataHead(7)
	good = appendMsgDataRecord(good, 1, "imap.sortkeys.1", []byte("data"))
	good = appendMsgDataRecord(good, 2, "x", nil)
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte("YBMD\x01\x00\x00\x00\x07\x00\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		valid, _, err := scanMsgData(bytes.NewReader(b), 7, func(uid uint32, name string, off int64, n uint32) {
			if off < msgDataHeader || off+int64(n) > int64(len(b)) || name == "" {
				t.Fatalf("record %d %q at %d+%d outside %d bytes", uid, name, off, n, len(b))
			}
		})
		if err != nil || valid > int64(len(b)) || valid != 0 && valid < msgDataHeader {
			t.Fatalf("valid %d of %d, %v", valid, len(b), err)
		}
	})
}
