package replicate

import "sync"

// UserLocks lets one sync of a user run at a time on this server,
// whether this server's Replicator started it or the partner did.
type UserLocks struct {
	mu   sync.Mutex
	busy map[string]bool
}

// TryLock takes the user's lock if it is free.
func (l *UserLocks) TryLock(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[user] {
		return false
	}
	if l.busy == nil {
		l.busy = map[string]bool{}
	}
	l.busy[user] = true
	return true
}

// Unlock releases the user's lock.
func (l *UserLocks) Unlock(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.busy, user)
}
