package managesieve

import (
	"context"
	"strconv"
	"strings"
)

// Response codes of RFC 5804 section 1.3.
const (
	CodeAuthTooWeak      = "AUTH-TOO-WEAK"
	CodeEncryptNeeded    = "ENCRYPT-NEEDED"
	CodeQuota            = "QUOTA"
	CodeQuotaMaxScripts  = "QUOTA/MAXSCRIPTS"
	CodeQuotaMaxSize     = "QUOTA/MAXSIZE"
	CodeQuotaMaxStorage  = "QUOTA/MAXSTORAGE"
	CodeReferral         = "REFERRAL"
	CodeSASL             = "SASL"
	CodeTransitionNeeded = "TRANSITION-NEEDED"
	CodeTryLater         = "TRYLATER"
	CodeActive           = "ACTIVE"
	CodeNonexistent      = "NONEXISTENT"
	CodeAlreadyExists    = "ALREADYEXISTS"
	CodeTag              = "TAG"
	CodeWarnings         = "WARNINGS"
)

// Error is a NO (or BYE) response: what a Backend, Scripts or Check
// returns to say exactly what the client reads. Any other error gets a
// generic NO (TRYLATER) and is logged, never shown.
type Error struct {
	// Code is the response code without parentheses ("QUOTA/MAXSIZE"),
	// optionally followed by a space and its argument as it goes on the
	// wire ("TAG \"x\""); empty for none.
	Code string
	// Text is the human-readable text; it may span lines (sent as a
	// literal).
	Text string
	// Bye makes the response BYE and ends the session.
	Bye bool
}

func (e *Error) Error() string { return "managesieve: " + e.Text }

// ScriptError is what Check returns for a script that does not
// compile: Text is sent in the NO response as it is, the compiler's
// messages one per line ("line 2: error: ...", as sievec prints them).
type ScriptError struct{ Text string }

func (e *ScriptError) Error() string { return e.Text }

// ScriptWarnings is what Server.Check returns for a script that compiles
// with warnings: the script is accepted (PUTSCRIPT stores it) and the OK
// carries the WARNINGS response code with Text, one sievec-style line
// each ("line 2: warning: ...\r\n"), as Pigeonhole sends them (RFC 5804
// section 1.3).
type ScriptWarnings struct{ Text string }

func (w *ScriptWarnings) Error() string { return w.Text }

type scriptsKey struct{}

// UserScripts returns the logged-in user's script storage while
// Server.Check runs, so that a checker can resolve include :personal
// against the scripts the user already has.
func UserScripts(ctx context.Context) (Scripts, bool) {
	s, ok := ctx.Value(scriptsKey{}).(Scripts)
	return s, ok
}

var errInternal = &Error{Code: CodeTryLater, Text: "Internal error occurred. Refer to server log for more information."}

// appendString appends s as a quoted string, or as a literal when it
// cannot be quoted (CR, LF, NUL, or long).
func appendString(b []byte, s string) []byte {
	if len(s) <= 1024 && !strings.ContainsAny(s, "\r\n\x00") {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// response formats OK/NO/BYE with an optional code and text.
func response(status, code, text string) []byte {
	b := make([]byte, 0, len(status)+len(code)+len(text)+16)
	b = append(b, status...)
	if code != "" {
		b = append(b, " ("...)
		b = append(b, code...)
		b = append(b, ')')
	}
	if text != "" {
		b = append(b, ' ')
		b = appendString(b, text)
	}
	return append(b, "\r\n"...)
}
