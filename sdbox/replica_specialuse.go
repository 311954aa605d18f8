package sdbox

import (
	"context"

	"github.com/yubinmail/yubin/store"
)

var _ store.SpecialUseSetter = (*Store)(nil)

// SetSpecialUse implements store.SpecialUseSetter: the attribute is
// kept with those given at creation.
func (s *Store) SetSpecialUse(ctx context.Context, name, attr string) error {
	if err := store.CheckSpecialUse(attr); err != nil {
		return err
	}
	if _, err := s.Status(ctx, name); err != nil {
		return err
	}
	return s.setSpecialUse(ctx, store.CanonicalName(name), attr)
}
