package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestFirstPollSinceOpen: a handle that showed nothing yet (its view is
// read lazily) reports at its first Poll what changed since it was
// opened — an expunge, a new message, a flag change — as a handle whose
// view was read at open would.
func TestFirstPollSinceOpen(t *testing.T) {
	ctx := context.Background()
	s, err := openBackend(t, newDB(t), pgstore.Options{}).Open(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for range 3 {
		if _, err := w.Append(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lazy, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	if _, _, err := w.SetFlags(ctx, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Expunge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.SetFlags(ctx, store.UIDSetOf(2), store.FlagsAdd, store.Flags{System: store.Flagged}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(ctx, strings.NewReader("Subject: y\r\n\r\ny\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	changes, err := lazy.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[store.ChangeKind][]uint32{}
	for _, c := range changes {
		got[c.Kind] = append(got[c.Kind], c.UID)
	}
	if len(got[store.ChangeExpunge]) != 1 || got[store.ChangeExpunge][0] != 1 ||
		len(got[store.ChangeNew]) != 1 || got[store.ChangeNew][0] != 4 ||
		len(got[store.ChangeFlags]) != 1 || got[store.ChangeFlags][0] != 2 {
		t.Fatalf("first Poll: %+v", changes)
	}
	if again, err := lazy.Poll(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Poll: %+v, %v", again, err)
	}
}
