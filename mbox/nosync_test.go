package mbox

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
// though the kill may leave a torn last message, as Dovecot's mbox may.
func TestCrashNoSyncDeliveries(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	res := testutil.CheckDeliveryCrash(t, 5, func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncCrashChild$")
		cmd.Env = append(os.Environ(), "YUBIN_MBOX_CRASH_ROOT="+root)
		return cmd
	}, func() store.Store {
		s, err := Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	t.Logf("after each kill, acknowledged so far / whole messages: %v", res)
}

// TestNoSyncCrashChild is TestCrashNoSyncDeliveries' child.
func TestNoSyncCrashChild(t *testing.T) {
	root := os.Getenv("YUBIN_MBOX_CRASH_ROOT")
	if root == "" {
		t.Skip("run by TestCrashNoSyncDeliveries")
	}
	b := NewBackend(func(context.Context, string) (Location, error) {
		return Location{Root: filepath.Join(root, "mail"), Inbox: filepath.Join(root, "inbox")}, nil
	}, Options{})
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
		s, err := Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(mode string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSyncStraceChild$")
		cmd.Env = append(os.Environ(), "YUBIN_MBOX_STRACE_ROOT="+root, "YUBIN_MBOX_STRACE_MODE="+mode)
		return cmd
	})
}

// TestNoSyncStraceChild is TestStraceNoSyncAppends' child.
func TestNoSyncStraceChild(t *testing.T) {
	root := os.Getenv("YUBIN_MBOX_STRACE_ROOT")
	if root == "" {
		t.Skip("run by TestStraceNoSyncAppends")
	}
	s, err := Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
	if err != nil {
		t.Fatal(err)
	}
	testutil.NoSyncStraceChild(t, s, os.Getenv("YUBIN_MBOX_STRACE_MODE"))
}
