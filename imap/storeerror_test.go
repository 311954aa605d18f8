package imap

import (
	"context"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// eaccesStore fails CREATE as a mailbox directory without permission
// would: an *fs.PathError around syscall.EACCES.
type eaccesStore struct{ store.Store }

func (s eaccesStore) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	return &fs.PathError{Op: "mkdir", Path: "/var/mail/secret/" + name, Err: syscall.EACCES}
}

// TestStoreErrnoAnsweredServerbug: a store error carrying a system
// call's errno (which, as syscall.Errno, is also a net.Error) is
// answered NO [SERVERBUG] without the Go error text, and the session
// goes on; it used to be taken for a broken connection and the session
// ended without a reply.
func TestStoreErrnoAnsweredServerbug(t *testing.T) {
	env := newTestEnv(t, func(s *Server) {
		root := t.TempDir()
		opts := maildir.Options{NoSync: true}
		s.Backend = store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			st, err := maildir.Open(maildirRoot(root, user), opts)
			if err != nil {
				return nil, err
			}
			return eaccesStore{st}, nil
		})
	})
	c := env.login(t, "alice", "secret")
	_, tagged := c.cmd("CREATE Projects")
	if !strings.Contains(tagged, "NO [SERVERBUG]") {
		t.Fatalf("CREATE after EACCES: %q, want NO [SERVERBUG]", tagged)
	}
	if strings.Contains(tagged, "permission") || strings.Contains(tagged, "/var/mail") {
		t.Errorf("Go error text sent to the client: %q", tagged)
	}
	if _, tagged := c.cmd("NOOP"); !strings.Contains(tagged, "OK") {
		t.Errorf("session did not go on after the store error: NOOP %q", tagged)
	}
}
