package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLevel is the longest one level of a mailbox name may be, in bytes
// (a file name component on Linux).
const MaxNameLevel = 255

// MaxNameLength bounds a whole mailbox name in bytes.
const MaxNameLength = 1024

// Inbox is the canonical name of the user's inbox.
const Inbox = "INBOX"

// CanonicalName returns name with a leading "INBOX" level (in any case)
// written as "INBOX", so "inbox/Sub" becomes "INBOX/Sub".
func CanonicalName(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], Inbox) && (len(name) == 5 || name[5] == '/') {
		return Inbox + name[5:]
	}
	return name
}

// ValidateName checks a "/"-separated mailbox name before any format turns
// it into a path: it must be valid UTF-8, non-empty, without NUL or other
// control characters, without a leading or trailing separator or an empty
// level, without a "." or ".." level (which could escape the mail
// directory), with no level over MaxNameLevel bytes and the whole name
// within MaxNameLength. Errors wrap ErrInvalidName.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidName)
	case len(name) > MaxNameLength:
		return fmt.Errorf("%w: name longer than %d bytes", ErrInvalidName, MaxNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character in name", ErrInvalidName)
		}
	}
	for _, level := range strings.Split(name, "/") {
		switch {
		case level == "":
			return fmt.Errorf("%w: empty level (leading, trailing or doubled separator)", ErrInvalidName)
		case level == "." || level == "..":
			return fmt.Errorf("%w: %q level", ErrInvalidName, level)
		case len(level) > MaxNameLevel:
			return fmt.Errorf("%w: level longer than %d bytes", ErrInvalidName, MaxNameLevel)
		}
	}
	return nil
}
