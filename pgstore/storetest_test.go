package pgstore_test

import (
	"context"
	"testing"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

// TestStoretest runs the conformance suite, with reopen (a new Backend,
// as another process would open it) on the same database.
func TestStoretest(t *testing.T) {
	conns := map[store.Store]string{}
	open := func(t *testing.T, conn string) store.Store {
		b := openBackend(t, conn, pgstore.Options{})
		s, err := b.Open(context.Background(), "user@example.org")
		if err != nil {
			t.Fatal(err)
		}
		conns[s] = conn
		return s
	}
	storetest.RunOpener(t, storetest.Opener{
		New:    func(t *testing.T) store.Store { return open(t, newDB(t)) },
		Reopen: func(t *testing.T, old store.Store) store.Store { return open(t, conns[old]) },
	})
}
