package maildir

import (
	"fmt"
	"path/filepath"
)

// A delivery with store.AppendOptions.LateUID (LMTP and SMTP deliveries)
// is committed the way Postfix's local agent delivers into a Maildir:
// the synced file is linked into new/ (cur/ with flags) and the
// directory is synced, and that is all before the delivery returns. It
// takes no dovecot-uidlist.lock and writes no uidlist record: the file
// is adopted and given its UID by the next sync of the mailbox, this
// Store's next open or Dovecot's. While handles of this Store watch the
// mailbox, deliveries are committed with a UID as before (see watched). Per message that saves the uidlist's synced write and the
// lock, about a third of a delivery's synchronous disk writes; the
// message itself is as durable as with a UID (file, then directory).
// Concurrent late deliveries to one directory share its fsync.

// watched reports whether handles of this Store watch the mailbox. Their
// watcher would take a late delivery for another program's and rescan
// the folder (new/ and cur/) to adopt it; a commit with a UID tells them
// directly, so late delivery is used only when nobody watches.
func (m *mbox) watched() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watchStop != nil
}

// commitLate links the synced file of x into its directory and syncs
// that directory (unless the delivery is unsynced: see syncfs.go).
func (m *mbox) commitLate(t messageTemp, x *msg, noSync bool) error {
	dst := filepath.Join(m.dir, x.sub(), x.name)
	if err := t.install(m.s, filepath.Join(m.dir, "tmp"), dst); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	if noSync {
		return nil // SyncDeliveries makes the link durable with the file
	}
	q := &m.syncNew
	if !x.inNew {
		q = &m.syncCur
	}
	if err := q.Do(func() error { return m.s.syncDir(filepath.Dir(dst)) }); err != nil {
		return fmt.Errorf("maildir: sync dir: %w", err)
	}
	return nil
}
