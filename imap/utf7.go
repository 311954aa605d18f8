package imap

import (
	"errors"

	"github.com/yubinmail/yubin/internal/mutf7"
)

// errBadUTF7 reports a mailbox name that is not valid modified UTF-7.
var errBadUTF7 = errors.New("imap: invalid modified UTF-7 mailbox name")

// EncodeMailboxName returns the modified UTF-7 form (RFC 3501 5.1.3) of a
// UTF-8 mailbox name, as it goes on the wire to clients that have not
// enabled UTF8=ACCEPT.
func EncodeMailboxName(s string) string { return mutf7.Encode(s) }

// DecodeMailboxName turns a modified UTF-7 mailbox name from a client into
// UTF-8. It rejects what RFC 3501 forbids: 8-bit bytes, unterminated or
// empty shifts other than "&-", encoded printable ASCII, bad padding,
// unpaired surrogates, and two adjacent encoded runs.
func DecodeMailboxName(s string) (string, error) {
	out, err := mutf7.DecodeStrict(s)
	if err != nil {
		return "", errBadUTF7
	}
	return out, nil
}
