package mbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestQuotaMessages: with QuotaMessages = 2 and an INBOX that does not
// exist yet, two appends succeed and the third fails with
// store.ErrQuotaExceeded, the mailbox staying usable.
func TestQuotaMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: filepath.Join(dir, "spool"), QuotaMessages: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 3 {
		mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = mb.Append(ctx, strings.NewReader("Subject: x\r\n\r\nhi\r\n"), store.AppendOptions{})
		mb.Close()
		if i < 2 && err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if i == 2 && !errors.Is(err, store.ErrQuotaExceeded) {
			t.Fatalf("append %d: %v, want quota exceeded", i, err)
		}
	}
	q, err := s.Quota(ctx)
	if err != nil || q.MessagesUsed != 2 {
		t.Fatalf("quota %+v, %v", q, err)
	}
}
