package auth

import (
	"context"
	"errors"
)

// PassDBChain asks several passdbs in order, as Dovecot does with more
// than one passdb block under its default result_success = return-ok,
// result_failure = continue and result_internalfail = continue: the
// first success wins; an unknown user or a wrong password goes on to
// the next; a temporary failure is remembered and the next is asked.
// With no success, the answer is ErrTempFail if any member failed
// temporarily, else ErrAuthFailed if any refused the password, else
// ErrUnknownUser. Put local files first: their users are then answered
// without waiting for a database or directory that may hang.
type PassDBChain []PassDB

// Authenticate implements PassDB.
func (c PassDBChain) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	var temp, failed error
	for _, db := range c {
		id, err := db.Authenticate(ctx, user, password)
		switch {
		case err == nil:
			return id, nil
		case errors.Is(err, ErrTempFail):
			if temp == nil {
				temp = err
			}
		case errors.Is(err, ErrUnknownUser):
		default:
			if failed == nil {
				failed = err
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, chainResult(temp, failed)
}

func chainResult(temp, failed error) error {
	switch {
	case temp != nil:
		return temp
	case failed != nil:
		return failed
	}
	return ErrUnknownUser
}

// LookupCredentials implements CredentialLookup: the first member that
// implements it and knows the user answers.
func (c PassDBChain) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	var temp, failed error
	for _, db := range c {
		cl, ok := db.(CredentialLookup)
		if !ok {
			continue
		}
		b, err := cl.LookupCredentials(ctx, user, scheme)
		switch {
		case err == nil:
			return b, nil
		case errors.Is(err, ErrTempFail):
			if temp == nil {
				temp = err
			}
		case errors.Is(err, ErrUnknownUser):
		default:
			return nil, err // the user is here; the scheme cannot be had
		}
	}
	return nil, chainResult(temp, failed)
}

// UserDBChain asks several userdbs in order; the first that knows the
// user answers (Dovecot's several userdb blocks). A temporary failure
// of one is returned when no later member knows the user.
type UserDBChain []UserDB

// LookupUser implements UserDB.
func (c UserDBChain) LookupUser(ctx context.Context, user string) (*User, error) {
	var temp error
	for _, db := range c {
		u, err := db.LookupUser(ctx, user)
		switch {
		case err == nil:
			return u, nil
		case errors.Is(err, ErrUnknownUser):
		case errors.Is(err, ErrTempFail):
			if temp == nil {
				temp = err
			}
		default:
			return nil, err
		}
	}
	return nil, chainResult(temp, nil)
}
