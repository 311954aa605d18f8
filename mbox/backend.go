package mbox

import (
	"context"
	"fmt"
	"github.com/yubinmail/yubin/internal/syncfs"
	"path/filepath"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// Location is where one user's mbox mail lives: Dovecot's
// mbox:ROOT:INBOX=PATH.
type Location struct {
	Root  string // the directory of the mailbox files (~/mail)
	Inbox string // the INBOX file (/var/mail/%u); "" means Root/inbox
}

// Backend opens users' mbox stores (store.Backend). A user's Store is
// shared by all the sessions that have it open, so their handles notify
// each other at once (an IMAP IDLE hears an LMTP delivery without
// waiting for the file poll); it is closed when the last one closes it.
type Backend struct {
	locate func(ctx context.Context, user string) (Location, error)
	opts   Options

	mu     sync.Mutex
	stores map[Location]*sharedStore
}

type sharedStore struct {
	s    *Store
	refs int
}

var _ store.Backend = (*Backend)(nil)

// NewBackend returns a Backend that finds each user's mail with locate
// (which returns store.ErrNoSuchUser for unknown users) and opens it with
// opts (whose Inbox is replaced by the Location's).
func NewBackend(locate func(ctx context.Context, user string) (Location, error), opts Options) *Backend {
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	return &Backend{locate: locate, opts: opts, stores: map[Location]*sharedStore{}}
}

// Open implements store.Backend.
func (b *Backend) Open(ctx context.Context, user string) (store.Store, error) {
	loc, err := b.locate(ctx, user)
	if err != nil {
		return nil, err
	}
	loc.Root = filepath.Clean(loc.Root)
	if loc.Inbox == "" {
		loc.Inbox = filepath.Join(loc.Root, "inbox")
	}
	loc.Inbox = filepath.Clean(loc.Inbox)
	b.mu.Lock()
	defer b.mu.Unlock()
	ss := b.stores[loc]
	if ss == nil {
		opts := b.opts
		opts.Inbox = loc.Inbox
		s, err := Open(loc.Root, opts)
		if err != nil {
			return nil, err
		}
		ss = &sharedStore{s: s}
		b.stores[loc] = ss
	}
	ss.refs++
	return &storeRef{Store: ss.s, release: func() { b.release(loc, ss) }}, nil
}

func (b *Backend) release(loc Location, ss *sharedStore) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ss.refs--; ss.refs == 0 {
		delete(b.stores, loc)
		ss.s.Close()
	}
}

// Close implements io.Closer; Stores still in use stay usable until
// their sessions close them.
func (b *Backend) Close() error { return nil }

// storeRef is a session's reference to a shared Store.
type storeRef struct {
	*Store
	once    sync.Once
	release func()
}

// Close releases the reference.
func (r *storeRef) Close() error {
	r.once.Do(r.release)
	return nil
}

// SyncDeliveries makes durable every append made through the Backend's
// Stores with store.AppendOptions.NoSync before the call
// (store.DeliverySyncer).
func (b *Backend) SyncDeliveries(ctx context.Context) error {
	if err := b.opts.pending.Sync(ctx); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	return nil
}

var (
	_ store.DeliverySyncer = (*Store)(nil)
	_ store.DeliverySyncer = (*Backend)(nil)
)
