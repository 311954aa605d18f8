package main

import (
	"context"
	"errors"
	"io"

	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/smtp"
	"github.com/yubinmail/yubin/store"
)

// burlFetcher serves BURL (RFC 4468) on the submission listeners from
// the IMAP server's own URLAUTH keys: a client that signed a
// "submit+USER" URL with GENURLAUTH sends BURL, and the part is read
// from the user's store here, as Dovecot's submission fetches it from
// its imap-urlauth service.
type burlFetcher struct{ imap *imap.Server }

// newBURL is the submission servers' BURL fetcher over the stores and
// the URLAUTH keys the IMAP server uses.
func newBURL(stores store.Backend, u *users) smtp.BURLFetcher {
	return &burlFetcher{imap: &imap.Server{Backend: stores, URLAuth: newIMAPURLAuth(u)}}
}

// FetchURL implements smtp.BURLFetcher with RFC 4468 6's replies.
func (b *burlFetcher) FetchURL(ctx context.Context, user, url string) (io.ReadCloser, int64, error) {
	rc, size, err := b.imap.FetchSubmitURL(ctx, user, url)
	switch {
	case errors.Is(err, imap.ErrURLInvalid):
		return nil, 0, smtp.ErrBURLInvalid
	case errors.Is(err, imap.ErrURLNotAuthorized):
		return nil, 0, smtp.ErrBURLTrust
	case errors.Is(err, imap.ErrURLUnresolved):
		return nil, 0, smtp.ErrBURLFailed
	}
	return rc, size, err
}
