package lmtp

import (
	"errors"
	"fmt"
)

// Error is an LMTP reply carried as a Go error: a Deliverer returning one
// has it sent for that recipient; any other error becomes a generic
// "451 4.3.0" reply and is logged. The Client returns *Error for negative
// replies.
type Error struct {
	Code int
	// Enhanced is the RFC 3463 code "5.2.2", "" for none.
	Enhanced string
	Message  string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Enhanced == "" {
		return fmt.Sprintf("lmtp: %d %s", e.Code, e.Message)
	}
	return fmt.Sprintf("lmtp: %d %s %s", e.Code, e.Enhanced, e.Message)
}

// Temporary reports whether the reply is a 4xx.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("lmtp: server closed")

func asError(err error, rcpt string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: 451, Enhanced: "4.3.0", Message: "<" + rcpt + "> Temporary internal error"}
}
