package lmtp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// mapUserDB is a fixed-table auth.UserDB for tests.
type mapUserDB map[string]*auth.User

func (m mapUserDB) LookupUser(ctx context.Context, name string) (*auth.User, error) {
	if u, ok := m[name]; ok {
		return u, nil
	}
	return nil, auth.ErrUnknownUser
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// maildirs returns a StoreDeliverer over real Maildirs under dir for the
// users alice, bob (with a 300-byte store quota), carol and dave (with a
// 600-byte userdb quota) @example.jp.
func maildirs(t *testing.T, dir string) *StoreDeliverer {
	users := mapUserDB{
		"alice@example.jp": {Name: "alice@example.jp", Home: filepath.Join(dir, "alice")},
		"bob@example.jp":   {Name: "bob@example.jp", Home: filepath.Join(dir, "bob")},
		"carol@example.jp": {Name: "carol@example.jp", Home: filepath.Join(dir, "carol")},
		// dave's quota comes from the userdb (quota_rule), not the store.
		"dave@example.jp": {Name: "dave@example.jp", Home: filepath.Join(dir, "dave"), QuotaBytes: 600},
	}
	be := store.BackendFunc(func(ctx context.Context, name string) (store.Store, error) {
		u, ok := users[name]
		if !ok {
			return nil, store.ErrNoSuchUser
		}
		opts := maildir.Options{}
		if strings.HasPrefix(name, "bob") {
			opts.QuotaStorage = 300
		}
		return maildir.Open(filepath.Join(u.Home, "Maildir"), opts)
	})
	return &StoreDeliverer{Users: users, Stores: testBackend(t, dir, be), DetailMailbox: true}
}

// startLMTP serves s on l (a TCP listener on 127.0.0.1:0 when nil).
func startLMTP(t *testing.T, s *Server, l net.Listener) (string, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	if s.Hostname == "" {
		s.Hostname = "lmtp.example.jp"
	}
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve = %v", err)
		}
	})
	return l.Addr().String(), logs
}

// files returns the contents of the messages in a Maildir folder.
func files(t *testing.T, maildirPath string) []string {
	t.Helper()
	if msgs, ok := pgFiles(t, maildirPath); ok {
		return msgs
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(maildirPath, sub))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(maildirPath, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	return out
}
