package testutil

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// The strace test of a mail store taking store.AppendOptions.NoSync: a
// child process opens INBOX ("open"), or appends 20 messages with
// NoSync followed by one SyncDeliveries ("nosync"), or without it
// ("sync"), under strace. NoSync appends must add no fsync or fdatasync
// to those of opening the mailbox, and make one syncfs; other appends
// fsync each.

// CheckStraceNoSyncAppends is the parent's side. open opens a Store on
// the test's mail root; child returns the command that runs the test
// binary as the child (NoSyncStraceChild) in mode, on the same root.
func CheckStraceNoSyncAppends(t *testing.T, open func() store.Store, child func(mode string) *exec.Cmd) {
	t.Helper()
	ctx := context.Background()
	s := open()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(ctx, strings.NewReader("Subject: first\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	s.Close()
	base := 0 // the sync calls of opening the mailbox alone
	for _, mode := range []string{"open", "nosync", "sync"} {
		counts, err := StraceCounts(t, child(mode), "fsync", "fdatasync", "syncfs")
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
	s = open()
	defer s.Close()
	st, err := s.Status(ctx, store.Inbox)
	if err != nil || st.Messages != 41 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// NoSyncStraceChild is the child's side, on s (which must be a
// store.DeliverySyncer).
func NoSyncStraceChild(t *testing.T, s store.Store, mode string) {
	t.Helper()
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mode == "open" {
		return
	}
	noSync := mode == "nosync"
	for range 20 {
		if _, err := mb.Append(ctx, strings.NewReader("Subject: traced\r\n\r\nx\r\n"), store.AppendOptions{NoSync: noSync}); err != nil {
			t.Fatal(err)
		}
	}
	if noSync {
		if err := s.(store.DeliverySyncer).SyncDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
