package sdbox_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/yubinmail/yubin/sdbox"
	"github.com/yubinmail/yubin/store"
)

// Open a user's sdbox tree, deliver a message with flags and read it
// back.
func Example() {
	dir, _ := os.MkdirTemp("", "sdbox-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sdbox.Open(dir, sdbox.Options{AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	mb, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		panic(err)
	}
	defer mb.Close()
	res, err := mb.Append(ctx, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"), store.AppendOptions{Flags: store.Flags{System: store.Seen, Keywords: []string{"$Important"}}})
	if err != nil {
		panic(err)
	}
	r, _ := mb.Open(ctx, res.UID)
	body, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("UID %d: %q\n", res.UID, body)
	mb.Messages(ctx, store.UIDSetOf(res.UID), func(mi *store.MessageInfo) error {
		fmt.Println(mi.Flags.System.Names(), mi.Flags.Keywords, mi.Size)
		return nil
	})
	_, err = os.Stat(dir + "/mailboxes/INBOX/dbox-Mails/u.1")
	fmt.Println("u.1 on disk:", err == nil)
	// Output:
	// UID 1: "Subject: hi\r\n\r\nhello\r\n"
	// [\Seen] [$Important] 22
	// u.1 on disk: true
}
