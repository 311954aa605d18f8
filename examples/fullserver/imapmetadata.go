package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/store"
)

// metadataFileName is the file, in each user's mail directory, that
// keeps the user's IMAP METADATA entries (RFC 5464) as JSON. Dovecot
// keeps them in its mail_attribute_dict (typically
// file:%h/dovecot-attributes, keyed by mailbox GUID); this file sits
// beside Dovecot's own files in the Maildir or sdbox root, where
// Dovecot does not read it, and is keyed by mailbox name (RENAME moves
// the entries).
const metadataFileName = "yubin-metadata.json"

// newIMAPMetadata is the IMAP server's METADATA store: one file per user
// in the user's mail directory (mailMetaDir).
func newIMAPMetadata(u *users) imap.Metadata {
	return &imap.FileMetadata{Locate: userFileLocator(u, metadataFileName)}
}

// userFileLocator returns where a user's per-user IMAP file of the given
// name is: in the user's mail directory (mailMetaDir).
func userFileLocator(u *users, fileName string) func(ctx context.Context, name string) (string, error) {
	return func(ctx context.Context, name string) (string, error) {
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
		return filepath.Join(dir, fileName), nil
	}
}

// mailMetaDir is the directory of a user's per-user IMAP files: the
// Maildir or sdbox root, or for mbox the index directory .imap under
// the mbox root (a file in the root itself would be listed as a
// mailbox, by Dovecot and by package mbox).
func mailMetaDir(usr *auth.User, name string) (string, error) {
	loc := userMailLocation(usr)
	switch {
	case strings.HasPrefix(loc, "sdbox:"):
		return sdboxRoot(usr, name)
	case isMboxLocation(loc):
		l, err := mboxPaths(usr, name)
		if err != nil {
			return "", err
		}
		return filepath.Join(l.Root, ".imap"), nil
	case isPgsqlLocation(loc):
		// Files on one server's disk would break what pgsql: is for
		// (any server serves any user); these are not kept for it yet.
		return "", errors.New("per-user IMAP files (METADATA, URLAUTH keys) are not kept for pgsql: mailboxes")
	}
	return mailRoot(usr, name)
}
