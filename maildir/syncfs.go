package maildir

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Deliveries with store.AppendOptions.NoSync (a mail queue's local
// deliveries: the queue keeps its own synced copy until they are
// durable) skip the message file's fsync and, committed late, the
// directory's. Each notes the file system it wrote to; SyncDeliveries
// then makes all of them durable with one syncfs(2) per file system,
// shared by every caller waiting at that moment (a group commit, in
// internal/syncfs), where each delivery would have paid two fsyncs of
// its own. A batch gathers callers for syncfs.Linger (5 ms) before its
// syncfs: at ten SMTP sessions of local mail a syncfs otherwise served
// 1.2 deliveries, and their syncfs calls competed with the queue's own
// fdatasync for the disk (the fullserver accepted 2.1-2.3x Postfix's
// rate with none, 2.5-3.6x with 5 ms, at 15% less CPU per message; the
// delay is the queue's, never an SMTP client's).

// unsyncedDev returns the device number of m's file system, for
// noteUnsynced; looked up once per mailbox.
func (m *mbox) unsyncedDev() (uint64, error) {
	if dev := m.dev.Load(); dev != 0 {
		return dev - 1, nil
	}
	d, err := syncfs.Dev(m.dir)
	if err != nil {
		return 0, fmt.Errorf("maildir: %w", err)
	}
	m.dev.Store(d + 1)
	return d, nil
}

// noteUnsynced records that an unsynced delivery put a file into m. It
// is called once the file has its final name: a syncfs that takes the
// note then covers the data and the rename both.
func (m *mbox) noteUnsynced(dev uint64) {
	m.s.opts.pending.NoteDev(m.dir, dev)
}

// syncDir fsyncs a directory so that a rename into it is durable
// (nothing with Options.NoSync).
func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	return syncfs.Dir(dir)
}

// SyncDeliveries makes durable every delivery made through this Store
// (and, for a Store of a Backend, through the Backend's other Stores)
// with store.AppendOptions.NoSync before the call (store.DeliverySyncer).
func (s *Store) SyncDeliveries(ctx context.Context) error {
	return wrapSyncErr(s.opts.pending.Sync(ctx))
}

// SyncDeliveries makes durable every delivery made through the
// Backend's Stores with store.AppendOptions.NoSync before the call
// (store.DeliverySyncer).
func (b *Backend) SyncDeliveries(ctx context.Context) error {
	return wrapSyncErr(b.opts.pending.Sync(ctx))
}

func wrapSyncErr(err error) error {
	if err == nil || err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	return fmt.Errorf("maildir: %w", err)
}

var (
	_ store.DeliverySyncer = (*Store)(nil)
	_ store.DeliverySyncer = (*Backend)(nil)
)
