package maildir

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Deliveries with store.AppendOptions.NoSync (a mail queue's local
// deliveries: the queue keeps its own synced copy until they are
// durable) skip the message file's fsync and, committed late, the
// directory's. Each notes the file system it wrote to; SyncDeliveries
// then makes all of them durable with one syncfs(2) per file system,
// shared by every caller waiting at that moment (a group commit), where
// each delivery would have paid two fsyncs of its own. A batch gathers
// callers for syncfsLinger before its syncfs: at ten SMTP sessions of
// local mail a syncfs otherwise served 1.2 deliveries, and their syncfs
// calls competed with the queue's own fdatasync for the disk (the
// fullserver accepted 2.1-2.3x Postfix's rate with none, 2.5-3.6x with
// 5 ms, at 15% less CPU per message; the delay is the queue's, never an
// SMTP client's).

// unsyncedFS is the set of file systems that deliveries wrote to
// without syncing since the last SyncDeliveries, shared by the Stores of
// one Backend.
type unsyncedFS struct {
	mu   sync.Mutex
	dirs map[uint64]string // st_dev -> a directory on that file system
	q    dirSync
	// syncfs syncs file system dev, which holds dir (a test counts
	// calls).
	syncfs func(dev uint64, dir string) error

	// fsmu guards fs: a directory open on each file system synced, so
	// that a sync is one system call, not an open, the sync and a close.
	fsmu sync.Mutex
	fs   map[uint64]*os.File
}

// syncfsLinger is how long a SyncDeliveries batch gathers callers
// before its syncfs: deliveries that end meanwhile share it.
const syncfsLinger = 5 * time.Millisecond

func newUnsyncedFS() *unsyncedFS {
	u := &unsyncedFS{}
	u.q.linger = syncfsLinger
	u.syncfs = u.syncDev
	return u
}

// syncDev syncs file system dev through the directory kept open on it,
// opening dir for that the first time.
func (u *unsyncedFS) syncDev(dev uint64, dir string) error {
	u.fsmu.Lock()
	f := u.fs[dev]
	if f == nil {
		var err error
		if f, err = openDirFile(dir); err != nil {
			u.fsmu.Unlock()
			return err
		}
		if u.fs == nil {
			u.fs = map[uint64]*os.File{}
		}
		u.fs[dev] = f
	}
	u.fsmu.Unlock()
	return syncFS(f)
}

// note records that an unsynced delivery wrote into dir.
func (u *unsyncedFS) note(dir string, dev uint64) {
	u.mu.Lock()
	if u.dirs == nil {
		u.dirs = map[uint64]string{}
	}
	u.dirs[dev] = dir
	u.mu.Unlock()
}

// sync makes every delivery noted before the call durable.
func (u *unsyncedFS) sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return u.q.sync(func() error {
		u.mu.Lock()
		dirs := u.dirs
		u.dirs = nil
		u.mu.Unlock()
		var first error
		for dev, dir := range dirs {
			if err := u.syncfs(dev, dir); err != nil {
				// The next batch tries this file system again: its
				// callers did not see this error.
				u.mu.Lock()
				if u.dirs == nil {
					u.dirs = map[uint64]string{}
				}
				if _, ok := u.dirs[dev]; !ok {
					u.dirs[dev] = dir
				}
				u.mu.Unlock()
				if first == nil {
					first = fmt.Errorf("maildir: sync the file system of %s: %w", dir, err)
				}
			}
		}
		return first
	})
}

// unsyncedDev returns the device number of m's file system, for
// noteUnsynced; looked up once per mailbox.
func (m *mbox) unsyncedDev() (uint64, error) {
	if dev := m.dev.Load(); dev != 0 {
		return dev - 1, nil
	}
	d, err := devOf(m.dir)
	if err != nil {
		return 0, err
	}
	m.dev.Store(d + 1)
	return d, nil
}

// noteUnsynced records that an unsynced delivery put a file into m. It
// is called once the file has its final name: a syncfs that takes the
// note then covers the data and the rename both.
func (m *mbox) noteUnsynced(dev uint64) {
	m.s.opts.unsynced.note(m.dir, dev)
}

// devOf returns the device number of dir's file system.
func devOf(dir string) (uint64, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("maildir: no device number for %s", dir)
	}
	return uint64(st.Dev), nil
}

// SyncDeliveries makes durable every delivery made through this Store
// (and, for a Store of a Backend, through the Backend's other Stores)
// with store.AppendOptions.NoSync before the call (store.DeliverySyncer).
func (s *Store) SyncDeliveries(ctx context.Context) error {
	return s.opts.unsynced.sync(ctx)
}

// SyncDeliveries makes durable every delivery made through the
// Backend's Stores with store.AppendOptions.NoSync before the call
// (store.DeliverySyncer).
func (b *Backend) SyncDeliveries(ctx context.Context) error {
	return b.opts.unsynced.sync(ctx)
}

var (
	_ store.DeliverySyncer = (*Store)(nil)
	_ store.DeliverySyncer = (*Backend)(nil)
)
