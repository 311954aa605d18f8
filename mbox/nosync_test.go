package mbox

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
// appends: made with NoSync and followed by one SyncDeliveries, they
// add no fsync or fdatasync to those of opening the mailbox, and make
// one syncfs; without NoSync, each append fsyncs.
func TestStraceNoSyncAppends(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
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
		cmd.Env = append(os.Environ(), "YUBIN_MBOX_STRACE_ROOT="+root, "YUBIN_MBOX_STRACE_MODE="+mode)
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
	s, _ = Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
	defer s.Close()
	st, err := s.Status(context.Background(), store.Inbox)
	if err != nil || st.Messages != 41 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestNoSyncStraceChild is TestStraceNoSyncAppends' child.
func TestNoSyncStraceChild(t *testing.T) {
	root := os.Getenv("YUBIN_MBOX_STRACE_ROOT")
	if root == "" {
		t.Skip("run by TestStraceNoSyncAppends")
	}
	ctx := context.Background()
	s, err := Open(filepath.Join(root, "mail"), Options{Inbox: filepath.Join(root, "inbox")})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("YUBIN_MBOX_STRACE_MODE") == "open" {
		return
	}
	noSync := os.Getenv("YUBIN_MBOX_STRACE_MODE") == "nosync"
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
