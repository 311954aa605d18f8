package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/mbox"
	"github.com/yubinmail/yubin/store"
)

// mailBackend is what the protocols and deliverers need of the mail
// backend, whatever the mailbox format.
type mailBackend interface {
	store.Backend
	io.Closer
}

// isMboxLocation reports whether a mail_location is Dovecot's mbox form
// ("mbox:~/mail:INBOX=/var/mail/%u", seed 002).
func isMboxLocation(loc string) bool { return strings.HasPrefix(loc, "mbox:") }

// mboxLocationParts splits "mbox:ROOT[:KEY=VALUE]..." into the root and
// the INBOX= path. Dovecot's other keys (INDEX=, CONTROL=, LAYOUT=fs)
// are accepted; LAYOUT must be fs, the only layout of mbox.
func mboxLocationParts(loc string) (root, inbox string, err error) {
	parts := strings.Split(strings.TrimPrefix(loc, "mbox:"), ":")
	root = parts[0]
	if root == "" {
		return "", "", fmt.Errorf("mbox: needs a directory (mbox:~/mail)")
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return "", "", fmt.Errorf("mbox: %q is not KEY=VALUE", p)
		case strings.EqualFold(k, "INBOX"):
			inbox = v
		case strings.EqualFold(k, "LAYOUT") && v != "fs":
			return "", "", fmt.Errorf("mbox: LAYOUT=%s: only fs", v)
		case strings.EqualFold(k, "INDEX"), strings.EqualFold(k, "CONTROL"), strings.EqualFold(k, "LAYOUT"):
		default:
			return "", "", fmt.Errorf("mbox: unknown option %s", k)
		}
	}
	return root, inbox, nil
}

// checkMboxLocation is mail_location's check for the mbox form.
func checkMboxLocation(v string) error {
	_, _, err := mboxLocationParts(v)
	return err
}

// mboxPaths is the mbox root and INBOX file of a userdb record, with
// Dovecot's variables (%u, %n, %d, %h) and ~ (the home) expanded.
func mboxPaths(u *auth.User, name string) (mbox.Location, error) {
	loc := u.MailLocation
	if loc == "" {
		loc = u.Fields["mail"]
	}
	root, inbox, err := mboxLocationParts(loc)
	if err != nil {
		return mbox.Location{}, fmt.Errorf("user %s: %w", name, err)
	}
	expand := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		if strings.Contains(p, "%") {
			x, err := auth.Expand(p, auth.Vars{"user": name, "home": u.Home}, nil)
			if err != nil {
				return "", err
			}
			p = x
		}
		if rest, ok := strings.CutPrefix(p, "~"); ok {
			if u.Home == "" {
				return "", fmt.Errorf("user %s: mail location uses ~ but the user has no home", name)
			}
			p = filepath.Join(u.Home, rest)
		}
		return p, nil
	}
	if root, err = expand(root); err != nil {
		return mbox.Location{}, err
	}
	if inbox, err = expand(inbox); err != nil {
		return mbox.Location{}, err
	}
	return mbox.Location{Root: root, Inbox: inbox}, nil
}

// newMboxStores is newStores for mail_location = mbox:...
func newMboxStores(c *config.Config, u *users, log *slog.Logger) mailBackend {
	locate := func(ctx context.Context, name string) (mbox.Location, error) {
		usr, err := u.LookupUser(ctx, name)
		if errors.Is(err, auth.ErrUnknownUser) {
			return mbox.Location{}, store.ErrNoSuchUser
		}
		if err != nil {
			return mbox.Location{}, err
		}
		return mboxPaths(usr, usr.Name)
	}
	return mbox.NewBackend(locate, mbox.Options{
		Logger:         log,
		Hostname:       c.Get("myhostname"),
		AutoMailboxes:  store.DefaultAutoMailboxes(),
		MaxMessageSize: c.Int("mailbox_size_limit"),
	})
}
