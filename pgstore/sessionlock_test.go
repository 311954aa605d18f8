package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// openLocker opens user's Store on b as a store.SessionLocker.
func openLocker(t *testing.T, b *pgstore.Backend, user string) store.SessionLocker {
	t.Helper()
	st, err := b.Open(context.Background(), user)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sl, ok := st.(store.SessionLocker)
	require.True(t, ok, "pgstore.Store is not a store.SessionLocker")
	return sl
}

// heldSessionLocks counts the advisory session locks granted in the
// database (bit 62 of the key set).
func heldSessionLocks(t *testing.T, conn string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer c.Close(ctx)
	var n int
	require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND granted AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) & (1::bigint << 62) <> 0`).Scan(&n))
	return n
}

// TestSessionLockAcrossServers: a session lock taken through one
// Backend keeps out LockSession on another Backend (another server) and
// on the same Store until it is closed; other users are not affected;
// closing it leaves no lock on the pooled connection.
func TestSessionLockAcrossServers(t *testing.T) {
	t.Parallel()
	conn := newDB(t)
	a := openBackend(t, conn, pgstore.Options{})
	b := openBackend(t, conn, pgstore.Options{})
	la := openLocker(t, a, "alice")
	lb := openLocker(t, b, "alice")

	held, err := la.LockSession(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, heldSessionLocks(t, conn))

	for name, sl := range map[string]store.SessionLocker{"other server": lb, "same store": la} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		l2, err := sl.LockSession(ctx)
		cancel()
		if l2 != nil {
			l2.Close()
		}
		require.ErrorIs(t, err, store.ErrMailboxInUse, name)
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
	}

	other, err := openLocker(t, b, "bob").LockSession(context.Background())
	require.NoError(t, err, "another user's lock")
	require.NoError(t, other.Close())

	// The waiter gets the lock once the holder closes it.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l, err := lb.LockSession(ctx)
		if err == nil {
			err = l.Close()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, held.Close())
	require.NoError(t, held.Close(), "a second Close does nothing")
	require.NoError(t, <-got)
	require.Equal(t, 0, heldSessionLocks(t, conn), "a closed lock stays held on a pooled connection")

	// A context that is already done still makes one attempt.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := lb.LockSession(done)
	require.NoError(t, err, "free lock with a done context")
	require.NoError(t, l.Close())
}

// TestSessionLockLostWithConnection: when the database ends the
// connection that holds a session lock, the lock is released (another
// server gets it), Lost is closed, and Close reports the loss.
func TestSessionLockLostWithConnection(t *testing.T) {
	t.Parallel()
	conn := newDB(t)
	a := openBackend(t, conn, pgstore.Options{})
	pgstore.SetSessionLockCheck(a, 50*time.Millisecond)
	b := openBackend(t, conn, pgstore.Options{})

	held, err := openLocker(t, a, "carol").LockSession(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer c.Close(ctx)
	var n int
	require.NoError(t, c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) & (1::bigint << 62) <> 0`).Scan(&n))
	require.Equal(t, 1, n, "holders terminated")

	select {
	case <-held.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost not closed after the connection was terminated")
	}
	l, err := openLocker(t, b, "carol").LockSession(ctx)
	require.NoError(t, err, "lock after the holder's connection ended")
	require.NoError(t, l.Close())
	err = held.Close()
	require.Error(t, err, "Close of a lost lock")
	require.False(t, errors.Is(err, store.ErrMailboxInUse))
}
