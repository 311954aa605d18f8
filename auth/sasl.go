package auth

import (
	"context"
	"fmt"
	"strings"
)

// mech is one server-side SASL mechanism's state machine.
type mech interface {
	// step handles one client response (nil: no initial response). It
	// returns a challenge, or done with the identity.
	step(ctx context.Context, ss *session, resp []byte) (challenge []byte, done bool, id *Identity, err error)
}

// newMech returns a fresh state machine for mechanism name, or nil.
func newMech(name string) mech {
	switch name {
	case "PLAIN":
		return &plainMech{}
	case "LOGIN":
		return &loginMech{}
	case "CRAM-MD5":
		return &cramMech{}
	case "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS":
		return newSCRAMMech(name)
	case "OAUTHBEARER":
		return &oauthMech{bearer: true}
	case "XOAUTH2":
		return &oauthMech{}
	case "EXTERNAL":
		return &externalMech{}
	case "ANONYMOUS":
		return &anonymousMech{}
	}
	return nil
}

// session wraps a mechanism with the Service's policy: response size
// limit, penalty before the first step, failure delay, error mapping.
type session struct {
	s       *Service
	c       *ConnInfo
	mech    string
	m       mech
	started bool
	ticket  penaltyTicket // from waitPenalty, for finish
	done    bool
	id      *Identity
	user    string // login name as sent, for logs
}

// Next implements SASLSession.
func (ss *session) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	if ss.done {
		return nil, false, fmt.Errorf("%w: exchange already finished", ErrMalformed)
	}
	if !ss.started {
		ss.started = true
		t, err := ss.s.waitPenalty(ctx, ss.c)
		if err != nil {
			ss.done = true
			return nil, false, err
		}
		ss.ticket = t
	}
	start := ss.s.nowFunc()
	var (
		ch   []byte
		done bool
		id   *Identity
		err  error
	)
	if len(resp) > orDefault(ss.s.MaxResponse, DefaultMaxResponse) {
		err = fmt.Errorf("%w: response too long", ErrMalformed)
	} else {
		ch, done, id, err = ss.m.step(ctx, ss, resp)
	}
	if err == nil && !done {
		return ch, false, nil
	}
	ss.done = true
	id, err = ss.s.finish(ctx, ss.c, ss.ticket, ss.mech, ss.user, start, id, err)
	if err != nil {
		return nil, false, err
	}
	ss.id = id
	return ch, true, nil
}

// Identity implements SASLSession.
func (ss *session) Identity() *Identity { return ss.id }

// lookupCredentials normalises user and fetches its credentials in scheme.
func (ss *session) lookupCredentials(ctx context.Context, user, scheme string) (string, []byte, error) {
	ss.user = user
	norm, err := ss.s.normalize(ss.c, user)
	if err != nil {
		return "", nil, err
	}
	cl, ok := ss.s.PassDB.(CredentialLookup)
	if !ok {
		return norm, nil, ErrTempFail
	}
	MayBlock(ctx)
	cred, err := cl.LookupCredentials(WithConnInfo(ctx, ss.c), norm, scheme)
	return norm, cred, err
}

// errOrder is returned for responses that arrive when none is expected.
var errOrder = fmt.Errorf("%w: unexpected response", ErrMalformed)

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
