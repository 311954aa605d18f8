package pop3

import (
	"errors"
	"fmt"
	"strconv"
)

// The response codes of RFC 2449 section 8 and RFC 3206 that this server
// sends in brackets after "-ERR".
const (
	CodeInUse      = "IN-USE"
	CodeLoginDelay = "LOGIN-DELAY"
	CodeSysTemp    = "SYS/TEMP"
	CodeSysPerm    = "SYS/PERM"
	CodeAuth       = "AUTH"
)

// Error is a negative reply: "-ERR [Code] Text". Code is one of the
// Code constants or empty.
type Error struct {
	Code string
	Text string
}

// Error returns the reply as it would be sent, prefixed with "pop3: ".
func (e *Error) Error() string {
	if e.Code == "" {
		return "pop3: -ERR " + e.Text
	}
	return "pop3: -ERR [" + e.Code + "] " + e.Text
}

func (e *Error) line() string {
	if e.Code == "" {
		return "-ERR " + e.Text + "\r\n"
	}
	return "-ERR [" + e.Code + "] " + e.Text + "\r\n"
}

// Replies used in more than one place.
var (
	errInternal    = &Error{Code: CodeSysTemp, Text: "Internal error occurred. Try again later."}
	errShutdown    = &Error{Code: CodeSysTemp, Text: "Server shutting down."}
	errTooManyBad  = &Error{Text: "Too many bad commands, closing connection."}
	errAuthFailed  = &Error{Code: CodeAuth, Text: "Authentication failed."}
	errAuthTemp    = &Error{Code: CodeSysTemp, Text: "Temporary authentication failure, try again later."}
	errPlaintext   = &Error{Code: CodeAuth, Text: "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."}
	errNoAuth      = &Error{Code: CodeSysPerm, Text: "Authentication is not configured on this server."}
	errNotLoggedIn = &Error{Text: "Unknown command or not logged in yet."}
	errLoggedIn    = &Error{Text: "Already logged in."}
	errInUse       = &Error{Code: CodeInUse, Text: "Mailbox is locked by another POP3 session."}
	errLoginDelay  = &Error{Code: CodeLoginDelay, Text: "Minimum time between logins has not passed yet."}
	errNoMessage   = &Error{Text: "Message is deleted."}
	errGone        = &Error{Code: CodeSysTemp, Text: "Message was removed by another session."}
	errUnreadable  = &Error{Code: CodeSysTemp, Text: "The message cannot be read now."}

	errLineTooLong  = errors.New("pop3: line too long")
	errShuttingDown = errors.New("pop3: shutting down")
	errWriteFailed  = errors.New("pop3: write failed")
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func itoa(n int) string { return strconv.Itoa(n) }
