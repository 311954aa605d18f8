package mbox

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/store"
)

var _ store.SpecialUseSetter = (*Store)(nil)

// SetSpecialUse implements store.SpecialUseSetter: the attribute is
// kept with those given at creation (.imap/yubin-special-use).
func (s *Store) SetSpecialUse(ctx context.Context, name, attr string) error {
	if attr != "" && !store.IsSpecialUse(attr) {
		return fmt.Errorf("mbox: special use %q: %w", attr, store.ErrNotAllowed)
	}
	if _, err := s.Status(ctx, name); err != nil {
		return err
	}
	s.setSpecialUse(store.CanonicalName(name), attr)
	return nil
}
