package auth

import (
	"context"
	"errors"
	"testing"
)

type fakePassDB struct {
	users map[string]string
	err   error
}

func (f fakePassDB) Authenticate(_ context.Context, user, password string) (*Identity, error) {
	if f.err != nil {
		return nil, f.err
	}
	pw, ok := f.users[user]
	switch {
	case !ok:
		return nil, ErrUnknownUser
	case pw != password:
		return nil, ErrAuthFailed
	}
	return &Identity{User: user}, nil
}

func TestPassDBChain(t *testing.T) {
	ctx := context.Background()
	a := fakePassDB{users: map[string]string{"alice": "a", "both": "first"}}
	b := fakePassDB{users: map[string]string{"bob": "b", "both": "second"}}
	down := fakePassDB{err: ErrTempFail}
	for _, tc := range []struct {
		chain     PassDBChain
		user, pw  string
		want      error
		wantFound bool
	}{
		{PassDBChain{a, b}, "alice", "a", nil, true},
		{PassDBChain{a, b}, "bob", "b", nil, true},
		{PassDBChain{a, b}, "both", "second", nil, true}, // failure continues
		{PassDBChain{a, b}, "both", "x", ErrAuthFailed, false},
		{PassDBChain{a, b}, "carol", "x", ErrUnknownUser, false},
		{PassDBChain{a, down}, "alice", "a", nil, true},
		{PassDBChain{down, a}, "alice", "a", nil, true},
		{PassDBChain{a, down}, "carol", "x", ErrTempFail, false},
		{PassDBChain{a, down}, "alice", "wrong", ErrTempFail, false},
		{PassDBChain{}, "alice", "a", ErrUnknownUser, false},
	} {
		id, err := tc.chain.Authenticate(ctx, tc.user, tc.pw)
		if (id != nil) != tc.wantFound || (tc.want != nil && !errors.Is(err, tc.want)) || (tc.want == nil && err != nil) {
			t.Errorf("%d members, %s/%s: %v %v, want %v", len(tc.chain), tc.user, tc.pw, id, err, tc.want)
		}
	}
}
