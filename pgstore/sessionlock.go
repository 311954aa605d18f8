package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yubinmail/yubin/store"
)

var _ store.SessionLocker = (*Store)(nil)

// sessionLockBit marks the advisory-lock keys of session locks: a user's
// key is its id with this bit set, apart from migrateLock and any key a
// program is likely to choose for itself.
const sessionLockBit = int64(1) << 62

// Timings of session locks.
const (
	// sessionLockPoll is the longest pause between two attempts while
	// waiting for a lock held elsewhere.
	sessionLockPoll = 200 * time.Millisecond
	// sessionLockCheck is how often a held lock's connection is checked;
	// a connection found dead has lost the lock.
	sessionLockCheck = 15 * time.Second
)

// LockSession implements store.SessionLocker with a PostgreSQL
// session-level advisory lock on a key derived from the user's id, so
// that POP3 sessions of one user exclude each other across every server
// on the database (Dovecot's pop3_lock_session, which is a dotlock on a
// shared file system, does the same for one Maildir).
//
// The lock is held by one pooled connection, taken out of the pool for
// the length of the session: size pool_max_conns for the POP3 sessions
// expected at once plus the other work. A server that dies releases its
// locks with its connections, so a lock is never left behind. The
// connection is checked every 15 seconds while held; when it is found
// broken, the database has released the lock and Lost is closed.
func (s *Store) LockSession(ctx context.Context) (store.SessionLock, error) {
	key := sessionLockBit | s.userID
	// Each attempt runs on a context of its own, so that a ctx that is
	// already done still makes one attempt, as the contract asks.
	attempt := func() (*pgxpool.Conn, bool, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.b.opts.opTimeout())
		defer cancel()
		conn, err := s.b.pool.Acquire(actx)
		if err != nil {
			return nil, false, dbErr("session lock", err)
		}
		var got bool
		if err := conn.QueryRow(actx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			conn.Release()
			return nil, false, dbErr("session lock", err)
		}
		if !got {
			conn.Release()
			return nil, false, nil
		}
		return conn, true, nil
	}
	pause := 10 * time.Millisecond
	for {
		conn, got, err := attempt()
		if err != nil {
			return nil, err
		}
		if got {
			return newSessionLock(s.b, conn, key), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pgstore: session lock of %q: %w (%w)", s.user, store.ErrMailboxInUse, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, sessionLockPoll)
	}
}

// sessionLock is a held session lock: the advisory lock on key, held by
// conn.
type sessionLock struct {
	b    *Backend
	conn *pgxpool.Conn
	key  int64

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	closeOnce sync.Once
	closeErr  error
}

func newSessionLock(b *Backend, conn *pgxpool.Conn, key int64) *sessionLock {
	l := &sessionLock{
		b: b, conn: conn, key: key,
		lost: make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go l.watch()
	return l
}

// watch checks the connection until the lock is closed, and marks the
// lock lost when the connection is found broken.
func (l *sessionLock) watch() {
	defer close(l.done)
	every := sessionLockCheck
	if l.b.sessionLockCheck > 0 {
		every = l.b.sessionLockCheck
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.b.opts.opTimeout())
			err := l.conn.Ping(ctx)
			cancel()
			if err != nil {
				l.b.log.Warn("pgstore: session lock's connection lost; the lock is released", "err", err)
				l.markLost()
				return
			}
		}
	}
}

func (l *sessionLock) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// Lost implements store.SessionLock.
func (l *sessionLock) Lost() <-chan struct{} { return l.lost }

// Close implements store.SessionLock: it releases the advisory lock and
// gives the connection back to the pool, or closes the connection when
// the unlock cannot be confirmed, so that a pooled connection never
// keeps a session lock.
func (l *sessionLock) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), l.b.opts.opTimeout())
		defer cancel()
		var held bool
		err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&held)
		switch {
		case err != nil:
			l.markLost()
			l.closeErr = dbErr("session unlock", err)
		case !held:
			l.markLost()
			l.closeErr = errors.New("pgstore: session lock was lost before Close (its connection was reset)")
		}
		if l.closeErr != nil {
			// Whatever this connection holds goes with it.
			l.conn.Conn().Close(ctx)
		}
		l.conn.Release()
	})
	return l.closeErr
}
