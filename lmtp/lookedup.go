package lmtp

import (
	"context"

	"github.com/yubinmail/yubin/auth/authn"
)

// lookedUpKey is the context key of WithUser.
type lookedUpKey struct{}

// WithUser returns ctx carrying u, the user a delivery is for.
// StoreDeliverer.DeliverUser opens the user's store with such a context,
// so that a store backend that looks the user up again (to find where
// the user's mail lives) can take it from LookedUpUser instead: one
// delivery, one lookup.
func WithUser(ctx context.Context, u *authn.User) context.Context {
	if u == nil {
		return ctx
	}
	return context.WithValue(ctx, lookedUpKey{}, u)
}

// LookedUpUser returns the user ctx carries (WithUser) when it is the
// one named name.
func LookedUpUser(ctx context.Context, name string) (*authn.User, bool) {
	u, ok := ctx.Value(lookedUpKey{}).(*authn.User)
	if !ok || u.Name == "" || u.Name != name {
		return nil, false
	}
	return u, true
}
