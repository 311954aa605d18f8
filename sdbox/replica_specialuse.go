package sdbox

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/store"
)

var _ store.SpecialUseSetter = (*Store)(nil)

// SetSpecialUse implements store.SpecialUseSetter: the attribute is
// kept with those given at creation.
func (s *Store) SetSpecialUse(ctx context.Context, name, attr string) error {
	if attr != "" && !store.IsSpecialUse(attr) {
		return fmt.Errorf("sdbox: special use %q: %w", attr, store.ErrNotAllowed)
	}
	if _, err := s.Status(ctx, name); err != nil {
		return err
	}
	return s.setSpecialUse(ctx, store.CanonicalName(name), attr)
}
