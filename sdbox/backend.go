package sdbox

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Backend opens users' sdbox trees: locate maps a user name to the
// sdbox root (mail_location = sdbox:ROOT, expanded). A user's Store is
// shared by all the sessions that have it open, so their mailbox
// handles notify each other at once; it is closed when the last one
// closes it.
type Backend struct {
	// KeepOpen is how long a user's Store (with what it has read of the
	// message files) stays open after its last session closed it, so
	// that the next login (a mail client polling) finds it; 0 closes it
	// at once. Set it before the first Open.
	KeepOpen time.Duration

	locate func(ctx context.Context, user string) (string, error)
	opts   Options

	mu     sync.Mutex
	stores map[string]*sharedStore
}

type sharedStore struct {
	s     *Store
	refs  int
	timer *time.Timer // closes an unused Store after KeepOpen
}

var _ store.Backend = (*Backend)(nil)

// NewBackend returns a Backend that finds each user's sdbox root with
// locate (which returns store.ErrNoSuchUser for unknown users) and opens
// it with opts.
func NewBackend(locate func(ctx context.Context, user string) (root string, err error), opts Options) *Backend {
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	return &Backend{locate: locate, opts: opts, stores: map[string]*sharedStore{}}
}

// Open implements store.Backend.
func (b *Backend) Open(ctx context.Context, user string) (store.Store, error) {
	root, err := b.locate(ctx, user)
	if err != nil {
		return nil, err
	}
	root = filepath.Clean(root)
	b.mu.Lock()
	defer b.mu.Unlock()
	ss := b.stores[root]
	if ss == nil {
		s, err := Open(root, b.opts)
		if err != nil {
			return nil, err
		}
		ss = &sharedStore{s: s}
		b.stores[root] = ss
	}
	if ss.timer != nil {
		ss.timer.Stop()
		ss.timer = nil
	}
	ss.refs++
	return &storeRef{Store: ss.s, release: func() { b.release(root, ss) }}, nil
}

func (b *Backend) release(root string, ss *sharedStore) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ss.refs--; ss.refs > 0 {
		return
	}
	if b.KeepOpen <= 0 {
		delete(b.stores, root)
		ss.s.Close()
		return
	}
	ss.timer = time.AfterFunc(b.KeepOpen, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if ss.refs == 0 && b.stores[root] == ss {
			delete(b.stores, root)
			ss.s.Close()
		}
	})
}

// Close closes the Stores kept open by KeepOpen; Stores in use stay
// usable and close with their last session.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.KeepOpen = 0
	for root, ss := range b.stores {
		if ss.refs == 0 {
			if ss.timer != nil {
				ss.timer.Stop()
			}
			delete(b.stores, root)
			ss.s.Close()
		}
	}
	return nil
}

// storeRef is one session's reference to a shared Store.
type storeRef struct {
	*Store
	once    sync.Once
	release func()
}

func (r *storeRef) Close() error {
	r.once.Do(r.release)
	return nil
}

// SyncDeliveries makes durable every append made through the Backend's
// Stores with store.AppendOptions.NoSync before the call
// (store.DeliverySyncer).
func (b *Backend) SyncDeliveries(ctx context.Context) error {
	if err := b.opts.pending.Sync(ctx); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	return nil
}

var (
	_ store.DeliverySyncer = (*Store)(nil)
	_ store.DeliverySyncer = (*Backend)(nil)
)
