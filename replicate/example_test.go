package replicate_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/replicate"
	"github.com/yubinmail/yubin/store"
)

// Two Maildir stores of one user, synced in both directions: each gets
// the other's message under the same UID and UIDVALIDITY.
func Example() {
	ctx := context.Background()
	dirA, _ := os.MkdirTemp("", "replica-a")
	dirB, _ := os.MkdirTemp("", "replica-b")
	defer os.RemoveAll(dirA)
	defer os.RemoveAll(dirB)
	a, _ := maildir.Open(dirA+"/Maildir", maildir.Options{})
	b, _ := maildir.Open(dirB+"/Maildir", maildir.Options{})
	defer a.Close()
	defer b.Close()
	a.Deliver(ctx, "INBOX", strings.NewReader("Subject: one\r\n\r\nfrom A\r\n"), store.AppendOptions{})

	ea := &replicate.LocalEndpoint{Store: a, States: &replicate.StateStore{Dir: dirA + "/state"}, Partner: "b", User: "alice"}
	eb := &replicate.LocalEndpoint{Store: b, States: &replicate.StateStore{Dir: dirB + "/state"}, Partner: "a", User: "alice"}
	st, err := (&replicate.Syncer{}).Sync(ctx, ea, eb)
	if err != nil {
		fmt.Println(err)
		return
	}
	sa, _ := a.Status(ctx, "INBOX")
	sb, _ := b.Status(ctx, "INBOX")
	fmt.Println("copied:", st.Copied)
	fmt.Println("same UIDVALIDITY:", sa.UIDValidity == sb.UIDValidity, "messages on B:", sb.Messages)
	// Output:
	// copied: 1
	// same UIDVALIDITY: true messages on B: 1
}
