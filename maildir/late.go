package maildir

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"
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
	if err := q.sync(func() error { return m.s.syncDir(filepath.Dir(dst)) }); err != nil {
		return fmt.Errorf("maildir: sync dir: %w", err)
	}
	return nil
}

// dirSync shares one directory fsync among the callers that ask for it
// while another is running: each joins the next batch, and a batch's
// fsync starts only after all its members made their change.
type dirSync struct {
	mu   sync.Mutex
	cond sync.Cond
	busy bool       // a batch's fsync is running
	next *syncBatch // the batch callers join now
	// linger is how long a batch waits for more members before its
	// fsync starts (0: at once).
	linger time.Duration
}

type syncBatch struct {
	done bool
	err  error
}

// sync runs fn (an fsync) once for this caller's batch and returns its
// result.
func (q *dirSync) sync(fn func() error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cond.L == nil {
		q.cond.L = &q.mu
	}
	if q.next == nil {
		q.next = &syncBatch{}
	}
	b := q.next
	for !b.done {
		if !q.busy && q.next == b {
			q.busy = true
			if q.linger > 0 {
				q.mu.Unlock() // callers meanwhile join b
				time.Sleep(q.linger)
				q.mu.Lock()
			}
			q.next = nil
			q.mu.Unlock()
			err := fn()
			q.mu.Lock()
			b.err, b.done, q.busy = err, true, false
			q.cond.Broadcast()
			break
		}
		q.cond.Wait()
	}
	return b.err
}
