package auth

import "context"

type blockingKey struct{}

// WithBlocking returns a context carrying fn, which the Service and the
// Cache call on the attempt's goroutine before an attempt made under
// the context may wait: a PassDB lookup the cache does not answer, a
// credentials lookup, a penalty wait, any failure (the failure delay).
// A server that runs an attempt on a connection's reader goroutine (as
// dovecotauth does for PLAIN with an initial response, so that a cached
// login needs no hand-off between goroutines) uses it to pass the
// reading on first. fn may be called more than once. An
// Authenticator other than the Service must call MayBlock itself before
// it waits (dovecotauth's Client does), or the caller's reading waits
// with it.
func WithBlocking(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, blockingKey{}, fn)
}

// MayBlock says that the caller is about to wait: it calls the function
// WithBlocking put in ctx, if any.
func MayBlock(ctx context.Context) {
	if fn, ok := ctx.Value(blockingKey{}).(func()); ok {
		fn()
	}
}
