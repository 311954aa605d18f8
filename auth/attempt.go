package auth

import (
	"context"
	"fmt"
)

// Attempt runs one authentication attempt that the caller verifies
// itself, for a mechanism outside the Service (POP3's APOP, a protocol's
// own challenge-response), under the same policy as Login and the SASL
// mechanisms: it first waits for the penalty owed by c's address; then
// check runs with ctx; a success clears the address's penalty; a failure
// adds to it and is answered only FailureDelay after check started, so
// that the time taken does not tell an unknown user from a wrong secret.
// mech and user (as the client sent it) are for the log.
//
// check returns the authenticated identity, or an error: ErrTempFail
// (or a context error) for a failure to check, which is not held against
// the client, and anything else for a refusal. The error Attempt returns
// is mapped like Login's: ErrAuthFailed for every refusal, ErrTempFail,
// ErrMalformed or ErrAborted; never check's own text.
func (s *Service) Attempt(ctx context.Context, c *ConnInfo, mech, user string, check func(ctx context.Context) (*Identity, error)) (*Identity, error) {
	s.init()
	ticket, err := s.waitPenalty(ctx, c)
	if err != nil {
		return nil, err
	}
	start := s.nowFunc()
	id, err := check(ctx)
	if err == nil && (id == nil || id.User == "") {
		err = fmt.Errorf("%w: %s check returned no identity", ErrAuthFailed, mech)
	}
	return s.finish(ctx, c, ticket, mech, user, start, id, err)
}
