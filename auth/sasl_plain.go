package auth

import (
	"bytes"
	"context"
	"fmt"
)

// plainMech is PLAIN (RFC 4616): authzid NUL authcid NUL passwd.
type plainMech struct{ asked bool }

func (m *plainMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	if resp == nil {
		if m.asked {
			return nil, false, nil, errOrder
		}
		m.asked = true
		return []byte{}, false, nil, nil
	}
	// Exactly two NULs, and a non-empty authcid between them.
	i := bytes.IndexByte(resp, 0)
	j := -1
	if i >= 0 {
		if j = bytes.IndexByte(resp[i+1:], 0); j >= 0 {
			j += i + 1
		}
	}
	if j < 0 || j == i+1 || bytes.IndexByte(resp[j+1:], 0) >= 0 {
		return nil, false, nil, fmt.Errorf("%w: PLAIN needs authzid\\0authcid\\0password", ErrMalformed)
	}
	authcid := string(resp[i+1 : j])
	ss.user = authcid
	id, err := ss.s.checkPassword(ctx, ss.c, string(resp[:i]), authcid, string(resp[j+1:]))
	return nil, err == nil, id, err
}

// loginMech is the obsolete but ubiquitous LOGIN mechanism
// (draft-murchison-sasl-login): "Username:", "Password:" challenges.
type loginMech struct {
	user  string
	state int // 0 before username, 1 before password
}

func (m *loginMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	switch m.state {
	case 0:
		if resp == nil {
			m.state = -1
			return []byte("Username:"), false, nil, nil
		}
		fallthrough
	case -1:
		if len(resp) == 0 || bytes.IndexByte(resp, 0) >= 0 {
			return nil, false, nil, fmt.Errorf("%w: bad LOGIN user name", ErrMalformed)
		}
		m.user, m.state = string(resp), 1
		ss.user = m.user
		return []byte("Password:"), false, nil, nil
	case 1:
		if resp == nil || bytes.IndexByte(resp, 0) >= 0 {
			return nil, false, nil, fmt.Errorf("%w: bad LOGIN password", ErrMalformed)
		}
		m.state = 2
		id, err := ss.s.checkPassword(ctx, ss.c, "", m.user, string(resp))
		return nil, err == nil, id, err
	}
	return nil, false, nil, errOrder
}

// anonymousMech is ANONYMOUS (RFC 4505); the trace string is ignored.
type anonymousMech struct{ asked bool }

func (m *anonymousMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	if resp == nil {
		if m.asked {
			return nil, false, nil, errOrder
		}
		m.asked = true
		return []byte{}, false, nil, nil
	}
	if len(resp) > 255 {
		return nil, false, nil, fmt.Errorf("%w: trace too long", ErrMalformed)
	}
	user := ss.s.AnonymousUser
	if user == "" {
		user = "anonymous"
	}
	return nil, true, &Identity{User: user, Fields: map[string]string{"anonymous": "yes"}}, nil
}

// externalMech is EXTERNAL (RFC 4422 appendix A) from a verified TLS
// client certificate.
type externalMech struct{ asked bool }

func (m *externalMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	if resp == nil {
		if m.asked {
			return nil, false, nil, errOrder
		}
		m.asked = true
		return []byte{}, false, nil, nil
	}
	c := ss.c
	if c == nil || c.TLS == nil || len(c.TLS.VerifiedChains) == 0 || len(c.TLS.VerifiedChains[0]) == 0 {
		return nil, false, nil, fmt.Errorf("%w: no verified client certificate", ErrAuthFailed)
	}
	cert := c.TLS.VerifiedChains[0][0]
	name := cert.Subject.CommonName
	if ss.s.CertUsername != nil {
		name = ss.s.CertUsername(cert)
	}
	ss.user = name
	user, err := ss.s.normalize(c, name)
	if err != nil {
		return nil, false, nil, err
	}
	if len(resp) > 0 {
		z, err := ss.s.normalize(c, string(resp))
		if err != nil || z != user {
			return nil, false, nil, fmt.Errorf("%w: authorization identity differs from certificate", ErrAuthFailed)
		}
	}
	return nil, true, &Identity{User: user, Fields: map[string]string{}}, nil
}
