package smtp

import (
	"errors"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// Enhanced is an RFC 3463 enhanced status code such as {5, 7, 1}; its
// String method gives the dotted form "5.7.1" ("" for the zero value).
// It is the same type as lmtp.Enhanced.
type Enhanced = smtpwire.Enhanced

// ParseEnhanced parses "5.7.1"; it returns the zero value for anything
// else.
func ParseEnhanced(s string) Enhanced { return smtpwire.ParseEnhanced(s) }

// Error is an SMTP reply carried as a Go error: Code, Enhanced and
// Message ("\n" separates the lines of a multi-line reply); Temporary
// reports a 4xx. A Session returning an *Error (found with errors.As)
// has it sent to the client as is; any other error is answered with a
// generic 451 4.3.0 and logged, never shown. Client methods return *Error
// for negative server replies.
//
// It is the same type as lmtp.Error, so errors.As with an *smtp.Error
// finds the reply in an error from an lmtp.Client, and the other way
// round. Its Error method gives the reply as Postfix logs it ("550 5.1.1
// text").
type Error = smtpwire.Error

// errLocal is the reply for a handler's plain Go error.
var errLocal = &Error{Code: 451, Enhanced: Enhanced{4, 3, 0}, Message: "Error: local error in processing"}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
// or Close.
var ErrServerClosed = errors.New("smtp: server closed")

// asError turns any error into the reply to send.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errLocal
}
