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

// ErrNoSuchPart is no longer returned: Section, Binary and BinarySize
// answer a part the message does not have with an empty section, as
// Dovecot does (BODY[9] {0}). It is kept so callers that test for it
// still compile.
var ErrNoSuchPart = errors.New("imapmsg: no such message part")
