package maildir

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// TestMessageDirDescriptors checks the cur/ and new/ descriptors
// messages are opened through: they are opened with the first message a
// handle reads and closed with the last handle; a message still opens
// when its directory was replaced under them (by path), and after the
// folder was renamed under them (through them).
func TestMessageDirDescriptors(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{NoSync: true})
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const body = "Subject: dirfd\n\nhello\n"
	res, err := mb.Append(ctx, strings.NewReader(body), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(mb store.Mailbox) string {
		t.Helper()
		r, err := mb.Open(ctx, res.UID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := openFDs(t)
	if got := read(mb); got != body {
		t.Fatalf("read %q", got)
	}
	if got := openFDs(t) - before; got != 2 {
		t.Errorf("after the first read %d more descriptors are open, want 2 (cur/, new/)", got)
	}
	mb2, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read(mb2)
	if got := openFDs(t) - before; got != 2 {
		t.Errorf("a second handle opened %d descriptors, want the same 2", got)
	}

	// Move the whole Maildir away: the path is gone, the descriptors
	// still lead to the file.
	if err := os.Rename(root, root+".moved"); err != nil {
		t.Fatal(err)
	}
	if got := read(mb); got != body {
		t.Fatalf("after the folder moved: read %q", got)
	}
	if err := os.Rename(root+".moved", root); err != nil {
		t.Fatal(err)
	}

	// Replace cur/ by a copy: the descriptor now names the old
	// directory, where the file is gone.
	cur := filepath.Join(root, "cur")
	if err := os.Rename(cur, cur+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cur, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(cur + ".old")
	for _, e := range ents {
		if err := os.Rename(filepath.Join(cur+".old", e.Name()), filepath.Join(cur, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(mb); got != body {
		t.Fatalf("after cur/ was replaced: read %q", got)
	}

	mb.Close()
	if got := openFDs(t) - before; got != 2 {
		t.Errorf("with one handle left %d descriptors are open, want 2", got)
	}
	m := mb2.(*handle).m
	fds := m.dirs.fd
	mb2.Close()
	if m.dirs.opened {
		t.Error("the descriptors are still marked open after the last handle closed")
	}
	for _, fd := range fds {
		if _, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil {
			t.Errorf("descriptor %d is still open after the last handle closed", fd)
		}
	}
}
