package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/store"
)

// urlAuthFileName is the file, beside yubin-metadata.json in each
// user's mail directory, of the user's URLAUTH mailbox access keys
// (RFC 4467). Dovecot keeps them as mailbox attributes and answers
// URLFETCH from its imap-urlauth service; here the IMAP server answers
// it itself, and "submit+" URLs are not served (no submission server
// logs in to fetch them: BURL is not offered).
const urlAuthFileName = "yubin-urlauth.json"

// newIMAPURLAuth is the IMAP server's URLAUTH key store.
func newIMAPURLAuth(u *users) imap.URLAuthKeys {
	return &imap.FileURLAuthKeys{Locate: func(ctx context.Context, name string) (string, error) {
		usr, err := u.LookupUser(ctx, name)
		if errors.Is(err, auth.ErrUnknownUser) {
			return "", store.ErrNoSuchUser
		}
		if err != nil {
			return "", err
		}
		dir, err := mailMetaDir(usr, usr.Name)
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, urlAuthFileName), nil
	}}
}
