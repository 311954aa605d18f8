package sdbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// openLogs counts this process's descriptors open on files of dir named
// dovecot.index.log.
func openLogs(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		if p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(p, dir) && strings.HasSuffix(p, "/"+logName) {
			n++
		}
	}
	return n
}

// TestKeptLogDescriptor: while a mailbox has handles, its log stays open
// between appends (one descriptor, however many appends); when the log
// is replaced under it (by another Store, as Dovecot's rotation does),
// the next append writes to the new one; once the last handle closes,
// the descriptor is closed.
func TestKeptLogDescriptor(t *testing.T) {
	root := t.TempDir()
	c := context.Background()
	s, err := Open(root, Options{NoSync: true, LogRotateMaxSize: 4096, LogRotateMinSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := mb.Append(c, strings.NewReader("Subject: x\r\n\r\nbody\r\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := openLogs(t, root); n != 1 {
		t.Fatalf("%d descriptors on the log after 5 appends, want 1 kept", n)
	}
	// Another Store's appends rotate the log (4 KiB max): the kept
	// descriptor is then on the old file.
	s2, _ := Open(root, Options{NoSync: true, LogRotateMaxSize: 4096, LogRotateMinSize: 1024})
	mb2, err := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if _, err := mb2.Append(c, strings.NewReader("Subject: y\r\n\r\nbody\r\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mb2.Close()
	if _, err := os.Stat(filepath.Join(root, "mailboxes", "INBOX", mailDirName, log2Name)); err != nil {
		t.Fatalf("the log was not rotated: %v", err)
	}
	r, err := mb.Append(c, strings.NewReader("Subject: z\r\n\r\nafter rotation\r\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.UID != 66 {
		t.Errorf("UID %d after the rotation, want 66", r.UID)
	}
	s3, _ := Open(root, Options{})
	mb3, err := s3.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := mb3.Status(c); st.Messages != 66 || st.UIDNext != 67 {
		t.Errorf("a fresh Store sees %d messages, UIDNEXT %d; want 66, 67", st.Messages, st.UIDNext)
	}
	mb3.Close()
	mb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for openLogs(t, root) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d log descriptors still open after the last handle closed", openLogs(t, root))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
