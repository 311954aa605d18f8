package imapmsg

import "errors"

var (
	// ErrUnknownCTE is returned by Binary and BinarySize for a part whose
	// Content-Transfer-Encoding is not one this package can decode; the
	// server answers NO [UNKNOWN-CTE].
	ErrUnknownCTE = errors.New("imapmsg: unknown content-transfer-encoding")
	// ErrBadSection is returned by ParseSectionSpec for a malformed
	// section specification; the server answers BAD.
	ErrBadSection = errors.New("imapmsg: invalid section specification")
)

// ErrNoSuchPart is returned by Section, Binary and BinarySize for a part
// number the message does not have. Dovecot answers such a FETCH with an
// empty section (BODY[9] NIL); the server decides.
var ErrNoSuchPart = errors.New("imapmsg: no such message part")
