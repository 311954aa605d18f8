package smtp

import (
	"errors"
	"fmt"
	"strconv"
)

// Enhanced is an RFC 3463 enhanced status code such as {5, 7, 1}.
type Enhanced [3]int

// String returns the dotted form "5.7.1", or "" for the zero value.
func (e Enhanced) String() string {
	if e == (Enhanced{}) {
		return ""
	}
	return strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
}

// ParseEnhanced parses "5.7.1"; it returns the zero value for anything
// else.
func ParseEnhanced(s string) Enhanced {
	var e Enhanced
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &e[0], &e[1], &e[2]); err != nil {
		return Enhanced{}
	}
	return e
}

// Error is an SMTP reply carried as a Go error. A Session returning an
// *Error (found with errors.As) has it sent to the client as is; any
// other error is answered with a generic 451 4.3.0 and logged, never
// shown. Client methods return *Error for negative server replies.
type Error struct {
	Code     int
	Enhanced Enhanced
	// Message is the reply text; "\n" separates the lines of a
	// multi-line reply.
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Enhanced == (Enhanced{}) {
		return fmt.Sprintf("smtp: %d %s", e.Code, e.Message)
	}
	return fmt.Sprintf("smtp: %d %s %s", e.Code, e.Enhanced, e.Message)
}

// Temporary reports whether the error is a 4xx reply.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

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
