package imap

import (
	"errors"

	"github.com/yubinmail/yubin/store"
)

// Kind is the status of a tagged or untagged response.
type Kind string

// The statuses of a command's completion.
const (
	KindNO  Kind = "NO"
	KindBAD Kind = "BAD"
	KindBYE Kind = "BYE"
)

// Error is a command failure with what goes on the wire: NO, BAD or BYE,
// an optional response code (RFC 5530, e.g. "TRYCREATE") and a text.
type Error struct {
	Kind Kind
	Code string
	Text string
}

func (e *Error) Error() string { return string(e.Kind) + " " + e.Text }

func no(code, text string) *Error { return &Error{Kind: KindNO, Code: code, Text: text} }

// errAlreadyAnswered tells dispatch that the handler wrote its own
// tagged response (STARTTLS, which must answer before the handshake).
var errAlreadyAnswered = errors.New("imap: already answered")

// errLogout ends the session after LOGOUT's responses were written.
var errLogout = errors.New("imap: logout")

// wireError maps any error a handler returned to what the client may
// see. Store errors get the response codes of RFC 5530 (as Dovecot
// answers); anything else is logged and answered with a generic
// [SERVERBUG] text, never the Go error string.
func (c *conn) wireError(cmd string, err error) *Error {
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	switch {
	case errors.Is(err, store.ErrNoSuchMailbox):
		if cmd == "APPEND" || cmd == "COPY" || cmd == "MOVE" {
			return no("TRYCREATE", "Mailbox doesn't exist.")
		}
		return no("NONEXISTENT", "Mailbox doesn't exist.")
	case errors.Is(err, store.ErrMailboxExists):
		return no("ALREADYEXISTS", "Mailbox already exists.")
	case errors.Is(err, store.ErrInvalidName):
		return no("CANNOT", "Invalid mailbox name.")
	case errors.Is(err, store.ErrNotAllowed):
		return no("CANNOT", "Operation not allowed on this mailbox.")
	case errors.Is(err, store.ErrNoSuchMessage):
		return no("EXPUNGEISSUED", "Some of the requested messages no longer exist.")
	case errors.Is(err, store.ErrQuotaExceeded):
		return no("OVERQUOTA", "Quota exceeded (mailbox for user is full).")
	case errors.Is(err, store.ErrTooBig):
		return no("TOOBIG", "Message too large.")
	case errors.Is(err, store.ErrReadOnly):
		return no("READ-ONLY", "Mailbox is read-only.")
	case errors.Is(err, store.ErrMailboxInUse):
		return no("INUSE", "Mailbox is in use, try again later.")
	case errors.Is(err, store.ErrTemporary):
		return no("UNAVAILABLE", "Temporary failure, try again later.")
	case errors.Is(err, store.ErrKeywordInvalid):
		return &Error{Kind: KindBAD, Text: "Invalid keyword."}
	case errors.Is(err, store.ErrMailboxGone):
		return &Error{Kind: KindBYE, Text: byeInconsistent}
	case errors.Is(err, store.ErrNoSuchUser):
		return no("AUTHENTICATIONFAILED", "Authentication failed.")
	}
	c.log.Error("imap: command failed", "cmd", cmd, "user", c.user, "err", err)
	return no("SERVERBUG", "Internal error occurred. Refer to server log for more information.")
}
