package mbox

import (
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

func newTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: filepath.Join(dir, "spool", "user")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreConformance(t *testing.T) {
	o := storetest.Opener{
		New: func(t *testing.T) store.Store {
			return newTestStore(t, t.TempDir())
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			return newTestStore(t, filepath.Dir(old.(*Store).Root()))
		},
	}
	storetest.RunOpener(t, o)
	t.Run("Replica", func(t *testing.T) { storetest.RunReplica(t, o) })
}
