package authn_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/yubinmail/yubin/auth/authn"
)

// fixedUsers is a UserDB of two users, as a test or a small program
// might write one without importing package auth.
type fixedUsers map[string]string

func (f fixedUsers) LookupUser(ctx context.Context, name string) (*authn.User, error) {
	home, ok := f[name]
	if !ok {
		return nil, authn.ErrUnknownUser
	}
	return &authn.User{Name: name, Home: home, UID: -1, GID: -1}, nil
}

// A UserDB answers delivery's question "where does this user's mail
// go?"; lmtp takes any implementation.
func Example() {
	var db authn.UserDB = fixedUsers{"alice@example.org": "/srv/mail/alice"}
	u, err := db.LookupUser(context.Background(), "alice@example.org")
	fmt.Println(u.Home, err)
	_, err = db.LookupUser(context.Background(), "bob@example.org")
	fmt.Println(errors.Is(err, authn.ErrUnknownUser))
	// Output:
	// /srv/mail/alice <nil>
	// true
}
