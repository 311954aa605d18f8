package maildir_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// Open a user's Maildir, deliver a message and read it back.
func Example() {
	dir, _ := os.MkdirTemp("", "maildir-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := maildir.Open(filepath.Join(dir, "Maildir"), maildir.Options{AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	mb, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		panic(err)
	}
	defer mb.Close()
	res, err := mb.Append(ctx, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"), store.AppendOptions{Flags: store.Flags{System: store.Seen}})
	if err != nil {
		panic(err)
	}
	r, _ := mb.Open(ctx, res.UID)
	body, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("UID %d: %q\n", res.UID, body)

	subs, _ := s.Subscriptions(ctx)
	fmt.Println(subs)
	// Output:
	// UID 1: "Subject: hi\r\n\r\nhello\r\n"
	// [Drafts Junk Trash Sent]
}
