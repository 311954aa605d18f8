package auth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// cramMech is CRAM-MD5 (RFC 2195) against stored CRAM-MD5 credentials
// (or a stored plaintext password).
type cramMech struct {
	challenge []byte
}

func (m *cramMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	if m.challenge == nil {
		if len(resp) > 0 {
			return nil, false, nil, fmt.Errorf("%w: CRAM-MD5 takes no initial response", ErrMalformed)
		}
		r := randomBytes(8)
		host := orDefault(ss.s.Hostname, "localhost")
		m.challenge = fmt.Appendf(nil, "<%d.%d@%s>", binary.BigEndian.Uint64(r)>>1, time.Now().Unix(), host)
		return m.challenge, false, nil, nil
	}
	i := bytes.LastIndexByte(resp, ' ')
	if i <= 0 || len(resp)-i-1 != 32 {
		return nil, false, nil, fmt.Errorf("%w: CRAM-MD5 response is \"user digest\"", ErrMalformed)
	}
	user := string(resp[:i])
	got, err := hex.DecodeString(string(resp[i+1:]))
	if err != nil {
		return nil, false, nil, fmt.Errorf("%w: CRAM-MD5 digest not hex", ErrMalformed)
	}
	norm, ctxBytes, err := ss.lookupCredentials(ctx, user, "CRAM-MD5")
	if err != nil {
		return nil, false, nil, err
	}
	want, err := hmacMD5FromContext(ctxBytes, m.challenge)
	if err != nil {
		return nil, false, nil, fmt.Errorf("%w: stored CRAM-MD5 unusable", ErrTempFail)
	}
	if !eq(got, want) {
		return nil, false, nil, ErrAuthFailed
	}
	id, err := ss.s.identity(&Identity{User: norm}, user)
	return nil, err == nil, id, err
}
