package store

import "context"

// SetSpecialUseWith is the checking half of a SpecialUseSetter shared by
// the stores: it refuses an attribute CheckSpecialUse refuses and a
// mailbox s does not have (s.Status's error, ErrNoSuchMailbox), then
// calls set with the mailbox's CanonicalName, which records the
// attribute the store's way.
func SetSpecialUseWith(ctx context.Context, s Store, name, attr string, set func(canonical string) error) error {
	if err := CheckSpecialUse(attr); err != nil {
		return err
	}
	if _, err := s.Status(ctx, name); err != nil {
		return err
	}
	return set(CanonicalName(name))
}
