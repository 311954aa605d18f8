package mbox

import (
	"context"

	"github.com/yubinmail/yubin/store"
)

var _ store.SpecialUseSetter = (*Store)(nil)

// SetSpecialUse implements store.SpecialUseSetter: the attribute is
// kept with those given at creation (.imap/yubin-special-use).
func (s *Store) SetSpecialUse(ctx context.Context, name, attr string) error {
	return store.SetSpecialUseWith(ctx, s, name, attr, func(n string) error { s.setSpecialUse(n, attr); return nil })
}
