package lmtp

import (
	"errors"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// Enhanced is an RFC 3463 enhanced status code such as {5, 2, 2}; its
// String method gives "5.2.2" ("" for the zero value). It is the same
// type as smtp.Enhanced.
type Enhanced = smtpwire.Enhanced

// ParseEnhanced parses "5.2.2"; it returns the zero value for anything
// else.
func ParseEnhanced(s string) Enhanced { return smtpwire.ParseEnhanced(s) }

// Error is an LMTP reply carried as a Go error: Code, Enhanced and
// Message; Temporary reports a 4xx. A Deliverer returning one has it sent
// for that recipient; any other error becomes a generic "451 4.3.0"
// reply and is logged. The Client returns *Error for negative replies.
//
// It is the same type as smtp.Error, so errors.As with an *lmtp.Error
// finds the reply in an error from an smtp.Client, and the other way
// round.
type Error = smtpwire.Error

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("lmtp: server closed")

func asError(err error, rcpt string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: 451, Enhanced: Enhanced{4, 3, 0}, Message: "<" + rcpt + "> Temporary internal error"}
}
