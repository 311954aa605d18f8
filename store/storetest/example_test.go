package storetest_test

import (
	"fmt"
	"testing"

	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

// newStore would open a fresh store of the format under test in
// t.TempDir().
func newStore(t *testing.T) store.Store {
	t.Skip("example only")
	return nil
}

// A format's test file runs the suite against fresh stores. With an
// Opener that can reopen a store, the persistence tests run too.
func Example() {
	testFormat := func(t *testing.T) {
		storetest.Run(t, newStore)
		storetest.RunOpener(t, storetest.Opener{
			New:    newStore,
			Reopen: func(t *testing.T, old store.Store) store.Store { return newStore(t) },
		})
	}
	fmt.Println(testFormat != nil)
	// Output: true
}
