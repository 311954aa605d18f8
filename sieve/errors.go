package sieve

import (
	"errors"
	"fmt"
	"strings"
)

// Pos is a position in a script: line and column, both from 1.
type Pos struct {
	Line   int
	Column int
}

// Error is one script error at a position. Its Error text has the form
// sievec prints, "line 4: error: expected ...", with the column after
// the line as "line 4:7:" when known.
type Error struct {
	// Script names the included script the error is in; "" for the
	// script given to Parse.
	Script string
	Pos    Pos
	Msg    string
	// Syntax is set for an error of the lexer or parser, which stops
	// the script from being read at all; sievec and ManageSieve then end
	// with "error: parse failed." rather than "error: validation
	// failed.".
	Syntax bool
	// Warning is set for a finding that does not stop the script
	// (Script.Warnings); its text then says "warning:".
	Warning bool
}

func (e *Error) Error() string {
	prefix := ""
	if e.Script != "" {
		prefix = e.Script + ": "
	}
	kind := "error"
	if e.Warning {
		kind = "warning"
	}
	if e.Pos.Line == 0 {
		return prefix + kind + ": " + e.Msg + "."
	}
	return fmt.Sprintf("%sline %d: %s: %s.", prefix, e.Pos.Line, kind, e.Msg)
}

// ErrorList is the set of errors of one failed Parse, in script order,
// with the warnings found before the check stopped among them (their
// Warning set). Its Error text has one a line, as sievec prints them.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Errors returns the *Error values inside err (an ErrorList or one
// *Error), or nil when err holds none.
func Errors(err error) []*Error {
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// ErrScriptTooLarge is returned by Parse when a script exceeds
// Limits.MaxScriptSize (Pigeonhole's sieve_max_script_size).
var ErrScriptTooLarge = errors.New("sieve: script too large")
