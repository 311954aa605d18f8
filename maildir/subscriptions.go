package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/internal/dovecotroot"
	"github.com/yubinmail/yubin/store"
)

// The subscriptions file (FORMATS.md 1.10) is read and written by
// package dovecotroot, shared with the other stores.

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.root, "subscriptions"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return dovecotroot.ParseSubscriptions(data), nil
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(ctx, name, true)
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(ctx, name, false)
}

func (s *Store) editSubscriptions(ctx context.Context, name string, add bool) error {
	name = store.CanonicalName(name)
	if err := store.ValidateName(name); err != nil {
		return err
	}
	path := filepath.Join(s.root, "subscriptions")
	l, err := s.lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer l.unlock()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("maildir: %w", err)
	}
	out, changed := dovecotroot.EditSubscriptions(data, name, add)
	if !changed {
		return nil
	}
	return s.writeFileAtomic(path, out, false)
}
