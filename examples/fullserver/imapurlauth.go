package main

import (
	"github.com/yubinmail/yubin/imap"
)

// urlAuthFileName is the file, beside yubin-metadata.json in each
// user's mail directory, of the user's URLAUTH mailbox access keys
// (RFC 4467). Dovecot keeps them as mailbox attributes and answers
// URLFETCH from its imap-urlauth service; here the IMAP server answers
// it itself, and the submission listeners' BURL fetches "submit+" URLs
// from the same keys (burl.go).
const urlAuthFileName = "yubin-urlauth.json"

// newIMAPURLAuth is the IMAP server's URLAUTH key store.
func newIMAPURLAuth(u *users) imap.URLAuthKeys {
	return &imap.FileURLAuthKeys{Locate: userFileLocator(u, urlAuthFileName)}
}
