package pgstore

import (
	"context"
	"io"

	"github.com/yubinmail/yubin/store"
)

// Deliver appends a message to the named mailbox without a session's
// handle, as maildir.Store.Deliver: nothing is read of the mailbox and
// nobody takes the message as \Recent, so it is \Recent for the session
// that selects the mailbox next (IMAP APPEND to a mailbox that is not
// selected uses it; RFC 3501 2.3.2).
func (s *Store) Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	mb, err := s.OpenMailbox(ctx, mailbox, store.OpenOptions{})
	if err != nil {
		return store.AppendResult{}, err
	}
	defer mb.Close()
	return mb.Append(ctx, r, opts)
}
