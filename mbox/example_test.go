package mbox_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/mbox"
	"github.com/yubinmail/yubin/store"
)

// Open a user's mbox mail (folders under ~/mail, INBOX in the spool),
// deliver a message and read it back; the file holds it as Dovecot
// would.
func Example() {
	dir, _ := os.MkdirTemp("", "mbox-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := mbox.Open(filepath.Join(dir, "mail"), mbox.Options{Inbox: filepath.Join(dir, "spool", "alice")})
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

	file, _ := os.ReadFile(s.InboxPath())
	for _, line := range strings.Split(string(file), "\n") {
		if strings.HasPrefix(line, "X-UID") || strings.HasPrefix(line, "Status") || strings.HasPrefix(line, "Content-Length") {
			fmt.Println(line)
		}
	}
	// Output:
	// UID 1: "Subject: hi\r\n\r\nhello\r\n"
	// X-UID: 1
	// Status: RO
	// Content-Length: 7
}
