package auth

import (
	"context"
	"errors"
	"strings"
)

// TokenVerifier checks an OAuth 2.0 bearer token for OAUTHBEARER
// (RFC 7628) and XOAUTH2. user is the name the client asserted (may be
// empty for OAUTHBEARER); the verifier decides the identity. It returns
// ErrAuthFailed for a bad token.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, user, token string) (*Identity, error)
}

// TokenVerifierFunc adapts a function to TokenVerifier.
type TokenVerifierFunc func(ctx context.Context, user, token string) (*Identity, error)

// VerifyToken implements TokenVerifier.
func (f TokenVerifierFunc) VerifyToken(ctx context.Context, user, token string) (*Identity, error) {
	return f(ctx, user, token)
}

// oauthMech is OAUTHBEARER (bearer=true) or XOAUTH2. On a bad token the
// server sends an RFC 7628 error challenge and fails after the client's
// (dummy) reply.
type oauthMech struct {
	bearer bool
	asked  bool
	failed bool
}

const oauthErrorJSON = `{"status":"invalid_token","schemes":"bearer","scope":"email"}`

func (m *oauthMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	if m.failed {
		return nil, false, nil, ErrAuthFailed
	}
	if resp == nil {
		if m.asked {
			return nil, false, nil, errOrder
		}
		m.asked = true
		return []byte{}, false, nil, nil
	}
	user, token, err := m.parse(string(resp))
	if err != nil {
		return nil, false, nil, err
	}
	ss.user = user
	if user != "" {
		if user, err = ss.s.normalize(ss.c, user); err != nil {
			return nil, false, nil, err
		}
	}
	id, err := ss.s.TokenVerifier.VerifyToken(WithConnInfo(ctx, ss.c), user, token)
	if err != nil {
		if errors.Is(err, ErrTempFail) {
			return nil, false, nil, err
		}
		m.failed = true
		return []byte(oauthErrorJSON), false, nil, nil
	}
	if id == nil || id.User == "" || (user != "" && id.User != user) {
		m.failed = true
		return []byte(oauthErrorJSON), false, nil, nil
	}
	id, err = ss.s.identity(id, ss.user)
	return nil, err == nil, id, err
}

// parse extracts the user and the bearer token.
func (m *oauthMech) parse(s string) (user, token string, err error) {
	if hasNUL(s) {
		return "", "", bad("NUL in OAuth message")
	}
	var kvs string
	if m.bearer {
		// gs2-header "n,a=user," then kvpairs separated by ^A.
		flag, rest, ok := strings.Cut(s, ",")
		if !ok || (flag != "n" && flag != "y") {
			return "", "", bad("bad gs2 header")
		}
		authz, rest, ok := strings.Cut(rest, ",")
		if !ok {
			return "", "", bad("bad gs2 header")
		}
		if authz != "" {
			a, ok := strings.CutPrefix(authz, "a=")
			if !ok {
				return "", "", bad("bad authzid")
			}
			if user, ok = saslName(a); !ok {
				return "", "", bad("bad authzid")
			}
		}
		kvs = rest
	} else {
		kvs = s
	}
	for _, kv := range strings.Split(kvs, "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "auth":
			scheme, tok, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
				return "", "", bad("bad auth value")
			}
			token = tok
		case "user":
			if !m.bearer {
				user = v
			}
		}
	}
	if token == "" {
		return "", "", bad("no token")
	}
	if !m.bearer && user == "" {
		return "", "", bad("XOAUTH2 needs user=")
	}
	return user, token, nil
}
