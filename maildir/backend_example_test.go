package maildir_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// A Backend maps user names to Maildirs (here /var/mail/DOMAIN/USER/
// Maildir under a temp dir, as mail_location = maildir:/var/mail/%d/%n/
// Maildir says) and shares one Store among a user's sessions, so an
// IMAP IDLE sees an LMTP delivery at once.
func ExampleNewBackend() {
	base, _ := os.MkdirTemp("", "mail")
	defer os.RemoveAll(base)
	b := maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
		local, domain, ok := strings.Cut(user, "@")
		if !ok || domain != "example.org" || strings.ContainsAny(local, "/.") {
			return "", store.ErrNoSuchUser
		}
		return filepath.Join(base, domain, local, "Maildir"), nil
	}, maildir.Options{})
	defer b.Close()
	ctx := context.Background()

	s, err := b.Open(ctx, "alice@example.org")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	st, _ := s.Status(ctx, "INBOX")
	fmt.Println("INBOX messages:", st.Messages)
	_, err = b.Open(ctx, "mallory@elsewhere.example")
	fmt.Println(errors.Is(err, store.ErrNoSuchUser))
	// Output:
	// INBOX messages: 0
	// true
}
