package smtpwire

import (
	"errors"
	"strings"
)

// MaxVerbLength bounds the verb of a command; longer words are not SMTP.
const MaxVerbLength = 16

// ErrSyntax is returned by the parsers for input that is not well formed.
var ErrSyntax = errors.New("smtpwire: syntax error")

// Command is one parsed command line.
type Command struct {
	// Verb is the command word in upper case ("EHLO", "MAIL").
	Verb string
	// Arg is everything after the verb and the space(s) that follow it,
	// with trailing spaces removed ("FROM:<a@b> SIZE=10").
	Arg string
}

// ParseCommand splits a command line (without line ending) into verb and
// argument. It rejects empty lines, NUL and other control characters
// (except TAB) and verbs that are not ASCII letters or digits.
func ParseCommand(line []byte) (Command, error) {
	for _, b := range line {
		if b < 0x20 && b != '\t' || b == 0x7f {
			return Command{}, ErrSyntax
		}
	}
	s := strings.TrimRight(string(line), " \t")
	verb, arg, _ := strings.Cut(s, " ")
	if verb == "" || len(verb) > MaxVerbLength {
		return Command{}, ErrSyntax
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return Command{}, ErrSyntax
		}
	}
	return Command{Verb: strings.ToUpper(verb), Arg: strings.TrimLeft(arg, " \t")}, nil
}
