package sdbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
// appends (testutil.CheckStraceNoSyncAppends): made with NoSync and
// followed by one SyncDeliveries, they add no fsync or fdatasync to
// those of opening the mailbox, and make one syncfs; without NoSync,
// each append fsyncs.
func TestStraceNoSyncAppends(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	testutil.CheckStraceNoSyncAppends(t, func() store.Store {
		s, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(mode string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncStraceChild$")
		cmd.Env = append(os.Environ(), "YUBIN_SDBOX_STRACE_ROOT="+root, "YUBIN_SDBOX_STRACE_MODE="+mode)
		return cmd
	})
}

// TestNoSyncStraceChild is TestStraceNoSyncAppends' child.
func TestNoSyncStraceChild(t *testing.T) {
	root := os.Getenv("YUBIN_SDBOX_STRACE_ROOT")
	if root == "" {
		t.Skip("run by TestStraceNoSyncAppends")
	}
	s, err := Open(filepath.Clean(root), Options{})
	if err != nil {
		t.Fatal(err)
	}
	testutil.NoSyncStraceChild(t, s, os.Getenv("YUBIN_SDBOX_STRACE_MODE"))
}
