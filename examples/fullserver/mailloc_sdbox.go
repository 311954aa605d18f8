package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/sdbox"
	"github.com/yubinmail/yubin/store"
)

// mail_location = sdbox:PATH (seed 003: sdbox:/var/mail/%n/): Dovecot's
// single-dbox format, kept by package sdbox. Users whose mail location
// (mail_location or the userdb's mail field) starts with "sdbox:" get
// an sdbox store; the others Maildir.

// sdboxLocation checks an "sdbox:PATH[:OPTIONS]" mail_location.
func sdboxLocation(v string) error {
	path, _, _ := strings.Cut(strings.TrimPrefix(v, "sdbox:"), ":")
	if path == "" {
		return fmt.Errorf("sdbox: needs a path")
	}
	return nil
}

// userMailLocation is a userdb record's mail location.
func userMailLocation(u *auth.User) string {
	if u.MailLocation != "" {
		return u.MailLocation
	}
	return u.Fields["mail"]
}

// sdboxRoot returns the sdbox root of a userdb record whose mail location
// is "sdbox:PATH[:OPTIONS]", with Dovecot's variables (%u %n %d ...) and
// ~ expanded as for Maildir.
func sdboxRoot(u *auth.User, name string) (string, error) {
	loc := userMailLocation(u)
	path, ok := strings.CutPrefix(loc, "sdbox:")
	if !ok {
		return "", fmt.Errorf("user %s: mail location %q is not an sdbox location", name, loc)
	}
	if i := strings.IndexByte(path, ':'); i >= 0 {
		path = path[:i]
	}
	if strings.Contains(path, "%") {
		x, err := auth.Expand(path, auth.Vars{"user": name, "home": u.Home}, nil)
		if err != nil {
			return "", err
		}
		path = x
	}
	if rest, ok := strings.CutPrefix(path, "~"); ok {
		if u.Home == "" {
			return "", fmt.Errorf("user %s: mail location uses ~ but the user has no home", name)
		}
		path = filepath.Join(u.Home, rest)
	}
	return filepath.Clean(path), nil
}

// mailStores routes each user to the backend of the format their mail
// location names.
type mailStores struct {
	*maildir.Backend // Maildir users (SyncDeliveries: mailloc_sync.go)
	sdbox            *sdbox.Backend
	users            *users
}

// withSdbox wraps the Maildir backend so that sdbox users get sdbox
// stores.
func withSdbox(md *maildir.Backend, c *config.Config, u *users, log *slog.Logger) *mailStores {
	locate := func(ctx context.Context, name string) (string, error) {
		usr, err := u.LookupUser(ctx, name)
		if errors.Is(err, auth.ErrUnknownUser) {
			return "", store.ErrNoSuchUser
		}
		if err != nil {
			return "", err
		}
		return sdboxRoot(usr, usr.Name)
	}
	sb := sdbox.NewBackend(locate, sdbox.Options{
		Logger:         log,
		Hostname:       c.Get("myhostname"),
		AutoMailboxes:  store.DefaultAutoMailboxes(),
		MaxMessageSize: c.Int("mailbox_size_limit"),
	})
	// As for Maildir: the next session finds the user's Store open.
	sb.KeepOpen = storeKeepOpen
	return &mailStores{Backend: md, users: u, sdbox: sb}
}

// Open implements store.Backend.
func (m *mailStores) Open(ctx context.Context, user string) (store.Store, error) {
	usr, err := m.users.LookupUser(ctx, user)
	if errors.Is(err, auth.ErrUnknownUser) {
		return nil, store.ErrNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(userMailLocation(usr), "sdbox:") {
		return m.sdbox.Open(ctx, user)
	}
	return m.Backend.Open(ctx, user)
}

// Close closes both backends.
func (m *mailStores) Close() error {
	return errors.Join(m.Backend.Close(), m.sdbox.Close())
}
