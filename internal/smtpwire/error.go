package smtpwire

import (
	"strconv"
	"strings"
)

// Enhanced is an RFC 3463 enhanced status code such as {5, 7, 1}. The
// smtp and lmtp packages export it under their own names (smtp.Enhanced,
// lmtp.Enhanced) as aliases of this one type.
type Enhanced [3]int

// String returns the dotted form "5.7.1", or "" for the zero value.
func (e Enhanced) String() string {
	if e == (Enhanced{}) {
		return ""
	}
	return strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
}

// ParseEnhanced parses "5.7.1" (RFC 3463: class 2, 4 or 5, subject and
// detail of one to three digits); it returns the zero value for anything
// else.
func ParseEnhanced(s string) Enhanced {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Enhanced{}
	}
	var e Enhanced
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return Enhanced{}
		}
		n := 0
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return Enhanced{}
			}
			n = n*10 + int(p[j]-'0')
		}
		e[i] = n
	}
	if e[0] != 2 && e[0] != 4 && e[0] != 5 {
		return Enhanced{}
	}
	return e
}

// Error is an SMTP or LMTP reply carried as a Go error: a reply code, an
// enhanced status code and the text. It is the one error type of both
// protocols (smtp.Error and lmtp.Error are aliases of it), so
// errors.As(err, &e) with e an *smtp.Error finds the reply in an error
// from an lmtp.Client and the other way round.
//
// Servers send an *Error a handler returns as is; clients return one for
// each negative reply and for what they refuse to send (an invalid
// recipient is a local 501 5.1.3, see FieldError).
type Error struct {
	Code     int
	Enhanced Enhanced
	// Message is the reply text; "\n" separates the lines of a
	// multi-line reply.
	Message string
}

// Error implements error: "550 5.1.1 text", the reply as Postfix logs
// it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Code))
	if e.Enhanced != (Enhanced{}) {
		b.WriteByte(' ')
		b.WriteString(e.Enhanced.String())
	}
	if e.Message != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ReplaceAll(e.Message, "\n", " "))
	}
	return b.String()
}

// Temporary reports whether the error is a 4xx reply: the same
// transaction may succeed later.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// ReplyError returns the *Error for a reply.
func ReplyError(r *Reply) *Error {
	return &Error{Code: r.Code, Enhanced: ParseEnhanced(r.Enhanced), Message: r.Text()}
}
