package maildir

import (
	"container/list"
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// DefaultMaxKeptOpen is the number of idle Stores a Backend keeps open
// when Backend.MaxKeptOpen is 0.
const DefaultMaxKeptOpen = 100

// Backend opens users' Maildirs: locate maps a user name to the Maildir
// root (for example from an auth UserDB's home + "/Maildir"). Stores are
// shared by every session of the same user while any is open, so their
// mailbox handles notify each other at once.
//
// With KeepOpen set, a Store whose last session has closed it stays open
// for that long, so that the user's next session finds its mailboxes
// already read. This is safe with other processes on the same Maildir:
// a Store takes no lock between operations, and a kept Store checks the
// directories and dovecot-uidlist when a mailbox is opened again, as it
// does for changes made by others while it is open.
type Backend struct {
	// KeepOpen is how long a user's Store stays open after the last
	// session using it has closed it (a mail client polling POP3, or
	// logging in again, then reuses it); 0, the default, closes it at
	// once. Set it before the first Open.
	KeepOpen time.Duration
	// MaxKeptOpen bounds how many Stores KeepOpen keeps open with no
	// session using them; beyond it the one idle longest is closed.
	// 0 means DefaultMaxKeptOpen.
	MaxKeptOpen int

	locate func(ctx context.Context, user string) (string, error)
	open   func(root string, opts Options) (*Store, error) // nil: Open (tests set it)
	opts   Options

	mu     sync.Mutex
	stores map[string]*sharedStore // by root, in use or kept open
	idle   list.List               // of *sharedStore kept open, oldest first
	closed bool
}

type sharedStore struct {
	s    *Store
	err  error // of the open, when it failed
	root string
	refs int
	// ready is closed when the open has finished (s or err is set);
	// sessions of the user wait for it outside Backend.mu.
	ready chan struct{}
	// While refs is 0 and the Store is kept open: its place in
	// Backend.idle and when it became idle. timer closes it KeepOpen
	// after that (a late or stale firing finds it taken again or not yet
	// due, and does nothing).
	elem   *list.Element
	idleAt time.Time
	timer  *time.Timer
}

var _ store.Backend = (*Backend)(nil)

// NewBackend returns a Backend that finds each user's Maildir root with
// locate (which returns store.ErrNoSuchUser for unknown users) and opens
// it with opts.
func NewBackend(locate func(ctx context.Context, user string) (root string, err error), opts Options) *Backend {
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	return &Backend{locate: locate, opts: opts, stores: map[string]*sharedStore{}}
}

// Open implements store.Backend. Closing the returned Store releases the
// shared state once every session of the user has closed its Store (or,
// with KeepOpen, that much later). A user's Store is opened outside the
// Backend's lock: a slow open (a big folder read for the first time)
// delays only the sessions of that user, which wait for it, until ctx
// is done.
func (b *Backend) Open(ctx context.Context, user string) (store.Store, error) {
	root, err := b.locate(ctx, user)
	if err != nil {
		return nil, err
	}
	root = filepath.Clean(root)
	b.mu.Lock()
	ss := b.stores[root]
	if ss == nil {
		ss = &sharedStore{root: root, ready: make(chan struct{})}
		b.stores[root] = ss
		ss.refs++
		b.mu.Unlock()
		open := b.open
		if open == nil {
			open = Open
		}
		s, err := open(root, b.opts)
		b.mu.Lock()
		ss.s, ss.err = s, err
		close(ss.ready)
		if err != nil {
			ss.refs--
			delete(b.stores, root)
			b.mu.Unlock()
			return nil, err
		}
		b.mu.Unlock()
		return b.ref(ss), nil
	}
	if ss.refs == 0 && ss.elem != nil {
		b.idle.Remove(ss.elem)
		ss.elem = nil
		ss.timer.Stop()
	}
	ss.refs++
	b.mu.Unlock()
	select {
	case <-ss.ready:
	case <-ctx.Done():
		// Give the reference back once the open has finished.
		go func() {
			<-ss.ready
			b.unref(ss)
		}()
		return nil, ctx.Err()
	}
	if ss.err != nil {
		b.unref(ss)
		return nil, ss.err
	}
	return b.ref(ss), nil
}

// ref is the Store a session gets for the opened ss.
func (b *Backend) ref(ss *sharedStore) store.Store {
	return &storeRef{Store: ss.s, release: func() { b.release(ss) }}
}

// unref drops a reference taken by Open that no session received: the
// open failed, or its caller gave up waiting.
func (b *Backend) unref(ss *sharedStore) {
	if ss.err == nil {
		b.release(ss)
		return
	}
	b.mu.Lock()
	ss.refs--
	b.mu.Unlock()
}

// release drops a session's reference to ss: the last one closes the
// Store or, with KeepOpen, keeps it open for reuse.
func (b *Backend) release(ss *sharedStore) {
	b.mu.Lock()
	ss.refs--
	if ss.refs > 0 {
		b.mu.Unlock()
		return
	}
	if b.KeepOpen <= 0 || b.closed {
		delete(b.stores, ss.root)
		b.mu.Unlock()
		ss.s.Close()
		return
	}
	ss.elem = b.idle.PushBack(ss)
	ss.idleAt = time.Now()
	if ss.timer == nil {
		ss.timer = time.AfterFunc(b.KeepOpen, func() { b.expire(ss) })
	} else {
		ss.timer.Reset(b.KeepOpen)
	}
	var evict []*Store
	max := b.MaxKeptOpen
	if max <= 0 {
		max = DefaultMaxKeptOpen
	}
	for b.idle.Len() > max {
		old := b.idle.Front().Value.(*sharedStore)
		evict = append(evict, b.dropIdle(old))
	}
	b.mu.Unlock()
	for _, s := range evict {
		s.Close()
	}
}

// expire closes ss when it has been idle for KeepOpen.
func (b *Backend) expire(ss *sharedStore) {
	b.mu.Lock()
	if ss.refs != 0 || ss.elem == nil || time.Since(ss.idleAt) < b.KeepOpen {
		b.mu.Unlock()
		return
	}
	s := b.dropIdle(ss)
	b.mu.Unlock()
	s.Close()
}

// dropIdle forgets an idle kept Store and returns it for closing
// (b.mu held).
func (b *Backend) dropIdle(ss *sharedStore) *Store {
	b.idle.Remove(ss.elem)
	ss.elem = nil
	ss.timer.Stop()
	delete(b.stores, ss.root)
	return ss.s
}

// Close closes the Stores kept open by KeepOpen. Stores that sessions
// still use stay open until their last session closes them, and are
// closed at once then: a closed Backend keeps nothing open. Open still
// works after Close.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	var stores []*Store
	for b.idle.Len() > 0 {
		stores = append(stores, b.dropIdle(b.idle.Front().Value.(*sharedStore)))
	}
	b.mu.Unlock()
	for _, s := range stores {
		s.Close()
	}
	return nil
}

// storeRef is a reference to a Backend's shared Store.
type storeRef struct {
	*Store
	once    sync.Once
	release func()
}

func (r *storeRef) Close() error {
	r.once.Do(r.release)
	return nil
}
