package msgauth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
)

// ErrNotChecked is returned by [ARCSealer.SealForwarded] for a message
// that carries no Authentication-Results field of the sealer's
// AuthservID: this host did not check it on arrival (it came from a
// trusted client, or was written here), so there is nothing to seal.
var ErrNotChecked = errors.New("msgauth: message not checked on arrival")

// SealForwarded returns the ARC set for a message this host checked on
// arrival and now sends on to another host (an alias or virtual entry
// that points elsewhere, a Sieve redirect, relaying): the point where
// RFC 8617 section 5.1 places an intermediary's seal. The set's
// ARC-Authentication-Results carries the Authentication-Results field
// this host added on arrival (the first one whose authserv-id is
// AuthservID, the receiving side having removed forged ones); cv= is the
// chain's status validated again now by v. open returns the message as
// it will be sent (it is read twice). A message without such a field
// gives ErrNotChecked; the other outcomes are Seal's.
func (s *ARCSealer) SealForwarded(ctx context.Context, v *Verifier, open func() (io.ReadCloser, error)) (string, error) {
	lim := s.Limits.withDefaults()
	r, err := open()
	if err != nil {
		return "", err
	}
	fields, err := readFields(bufio.NewReader(r), lim.MaxHeaderBytes, lim.MaxHeaderFields)
	r.Close()
	if err != nil {
		return "", err
	}
	arValue := ""
	hasARC := false
	for _, f := range fields {
		if arValue == "" && strings.EqualFold(f.Name, "Authentication-Results") {
			_, val, _ := strings.Cut(f.Raw, ":")
			val = strings.TrimSpace(val) // folded as it arrived
			if strings.EqualFold(AuthservID(unfold(val)), s.AuthservID) {
				arValue = val
			}
		}
		hasARC = hasARC || isARCField(f.Name)
	}
	if arValue == "" {
		return "", ErrNotChecked
	}
	cv := ResultNone
	if hasARC {
		r, err := open()
		if err != nil {
			return "", err
		}
		res, err := v.VerifyARC(ctx, r)
		r.Close()
		if err != nil {
			return "", err
		}
		cv = res.Result
	}
	r, err = open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	return s.seal(ctx, r, cv, arValue)
}
