package sdbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestCrashNoSyncDeliveries: a process appends with NoSync from 8
// goroutines, each append followed by SyncDeliveries, and is killed
// (SIGKILL) in the middle, five times over the same mailbox: every
// message acknowledged (SyncDeliveries returned) is there and whole,
// and no damage is reported.
func TestCrashNoSyncDeliveries(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	res := testutil.CheckDeliveryCrash(t, 5, func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncCrashChild$")
		cmd.Env = append(os.Environ(), "YUBIN_SDBOX_CRASH_ROOT="+root)
		return cmd
	}, func() store.Store {
		s, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	t.Logf("after each kill, acknowledged so far / whole messages: %v", res)
}

// rotateOften makes every few appends rotate the log and rewrite
// dovecot.index.
var rotateOften = Options{LogRotateMinSize: 1 << 10, LogRotateMaxSize: 2 << 10, LogRotateMinAge: -1}

// TestCrashDuringRotation is TestCrashNoSyncDeliveries with the log
// rotated (and dovecot.index rewritten) every few appends, so that the
// kills also land in rotations: every message acknowledged is there and
// whole, and the mailbox opens without damage.
func TestCrashDuringRotation(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	res := testutil.CheckDeliveryCrash(t, 5, func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncCrashChild$")
		cmd.Env = append(os.Environ(), "YUBIN_SDBOX_CRASH_ROOT="+root, "YUBIN_SDBOX_CRASH_ROTATE=1")
		return cmd
	}, func() store.Store {
		s, err := Open(root, rotateOften)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	md := filepath.Join(root, "mailboxes", "INBOX", mailDirName)
	if _, err := os.Stat(filepath.Join(md, indexName)); err != nil {
		t.Errorf("no rotation happened: %v", err)
	}
	l, err := loadState(md)
	if err != nil || len(l.damage) > 0 {
		t.Errorf("after the kills: %v, damage %v", err, l.damage)
	}
	t.Logf("after each kill, acknowledged so far / whole messages: %v", res)
}

// TestNoSyncCrashChild is TestCrashNoSyncDeliveries' child.
func TestNoSyncCrashChild(t *testing.T) {
	root := os.Getenv("YUBIN_SDBOX_CRASH_ROOT")
	if root == "" {
		t.Skip("run by TestCrashNoSyncDeliveries")
	}
	opts := Options{}
	if os.Getenv("YUBIN_SDBOX_CRASH_ROTATE") != "" {
		opts = rotateOften
	}
	b := NewBackend(func(context.Context, string) (string, error) { return root, nil }, opts)
	s, err := b.Open(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	testutil.DeliveryCrashChild(t, s, b, 8)
}

// TestStraceNoSyncAppends counts, with strace, the sync calls of 20
// appends: made with NoSync and followed by one SyncDeliveries, they
// add no fsync or fdatasync to those of opening the mailbox, and make
// one syncfs; without NoSync, each append fsyncs.
func TestStraceNoSyncAppends(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(context.Background(), strings.NewReader("Subject: first\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	s.Close()
	base := 0 // the sync calls of opening the mailbox alone
	for _, mode := range []string{"open", "nosync", "sync"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncStraceChild$")
		cmd.Env = append(os.Environ(), "YUBIN_SDBOX_STRACE_ROOT="+root, "YUBIN_SDBOX_STRACE_MODE="+mode)
		counts, err := testutil.StraceCounts(t, cmd, "fsync", "fdatasync", "syncfs")
		if err != nil {
			t.Fatalf("%s: child: %v", mode, err)
		}
		t.Logf("%s: %v", mode, counts)
		fsyncs := counts["fsync"] + counts["fdatasync"]
		if mode == "open" {
			base = fsyncs
		}
		if mode == "nosync" && (fsyncs != base || counts["syncfs"] != 1) {
			t.Errorf("NoSync appends: %v, want no fsync and one syncfs", counts)
		}
		if mode == "sync" && fsyncs < base+20 {
			t.Errorf("appends: %v, want at least 20 fsyncs", counts)
		}
	}
	s, _ = Open(root, Options{})
	defer s.Close()
	st, err := s.Status(context.Background(), store.Inbox)
	if err != nil || st.Messages != 41 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestNoSyncStraceChild is TestStraceNoSyncAppends' child.
func TestNoSyncStraceChild(t *testing.T) {
	root := os.Getenv("YUBIN_SDBOX_STRACE_ROOT")
	if root == "" {
		t.Skip("run by TestStraceNoSyncAppends")
	}
	ctx := context.Background()
	s, err := Open(filepath.Clean(root), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("YUBIN_SDBOX_STRACE_MODE") == "open" {
		return
	}
	noSync := os.Getenv("YUBIN_SDBOX_STRACE_MODE") == "nosync"
	for range 20 {
		if _, err := mb.Append(ctx, strings.NewReader("Subject: traced\r\n\r\nx\r\n"), store.AppendOptions{NoSync: noSync}); err != nil {
			t.Fatal(err)
		}
	}
	if noSync {
		if err := s.SyncDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
