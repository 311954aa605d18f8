package store

import (
	"context"
	"fmt"
)

// SpecialUseSetter is an optional interface of a Store, found by type
// assertion, that changes the special-use attribute (RFC 6154) of an
// existing mailbox after its creation: what IMAP's METADATA entry
// /private/specialuse (RFC 6154 section 5) or a replicator keeping two
// servers in step (package replicate) needs.
type SpecialUseSetter interface {
	// SetSpecialUse gives the mailbox name the attribute attr (one for
	// which IsSpecialUse holds), or none with attr "". It returns
	// ErrNoSuchMailbox when the mailbox does not exist and
	// ErrNotAllowed for another attribute.
	SetSpecialUse(ctx context.Context, name, attr string) error
}

// CheckSpecialUse returns nil for "" and the attributes of RFC 6154
// (IsSpecialUse), ErrNotAllowed for anything else.
func CheckSpecialUse(attr string) error {
	if attr != "" && !IsSpecialUse(attr) {
		return fmt.Errorf("store: special use %q: %w", attr, ErrNotAllowed)
	}
	return nil
}
