package maildir

import (
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

func TestStoreConformance(t *testing.T) {
	o := storetest.Opener{
		New: func(t *testing.T) store.Store {
			s, err := Open(filepath.Join(t.TempDir(), "Maildir"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			s, err := Open(old.(*Store).Root(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	storetest.RunOpener(t, o)
	t.Run("Replica", func(t *testing.T) { storetest.RunReplica(t, o) })
}
