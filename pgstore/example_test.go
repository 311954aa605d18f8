package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// Open a Backend on a database (PGSTORE_EXAMPLE_DSN, for example
// "host=/run/postgresql dbname=mail"), deliver a message and read its
// UID back. Without a database the example does nothing.
func Example() {
	dsn := os.Getenv("PGSTORE_EXAMPLE_DSN")
	if dsn == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pgstore.Open(ctx, dsn, pgstore.Options{AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	s, err := b.Open(ctx, "alice@example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	inbox, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer inbox.Close()
	res, err := inbox.Append(ctx, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"), store.AppendOptions{})
	fmt.Println(res.UID > 0, err)
}
