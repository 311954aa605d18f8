package maildir

import (
	"testing"

	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

func TestReplicaConformance(t *testing.T) {
	open := func(t *testing.T, root string) store.Store {
		s, err := Open(root, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunReplica(t, storetest.Opener{
		New:    func(t *testing.T) store.Store { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, old store.Store) store.Store { return open(t, old.(*Store).Root()) },
	})
}
