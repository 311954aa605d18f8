package pop3

import (
	"strconv"
	"strings"
)

// command is a parsed command line: the keyword in upper case and the
// rest of the line after the first space (PASS keeps spaces in the
// password, as Dovecot does).
type command struct {
	name string
	arg  string
}

// args splits the argument string at spaces.
func (c command) args() []string { return strings.Fields(c.arg) }

// oneArg returns the only argument of a command that takes one (RETR,
// DELE), as args would: ok is false unless args gives exactly one. An
// argument of printable ASCII alone, the usual message number, is
// returned without args' slice.
func (c command) oneArg() (arg string, ok bool) {
	simple := c.arg != ""
	for i := 0; i < len(c.arg) && simple; i++ {
		simple = c.arg[i] > ' ' && c.arg[i] < 0x7f
	}
	if simple {
		return c.arg, true
	}
	if args := c.args(); len(args) == 1 {
		return args[0], true
	}
	return "", false
}

// parseCommand parses one command line (without CRLF). RFC 1939 section
// 3: a keyword of three or four characters, optionally followed by one
// space and arguments. The keyword is case-insensitive. Control
// characters other than TAB are refused, NUL in particular.
func parseCommand(line []byte) (command, error) {
	for _, b := range line {
		if b == 0 {
			return command{}, &Error{Text: "NUL byte in command line."}
		}
		if (b < 0x20 && b != '\t') || b == 0x7f {
			return command{}, &Error{Text: "Control character in command line."}
		}
	}
	s := string(line)
	name, arg, _ := strings.Cut(s, " ")
	if name == "" {
		return command{}, &Error{Text: "Empty command line."}
	}
	if len(name) > 4 {
		return command{}, &Error{Text: "Unknown command: " + quoteArg(name)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return command{}, &Error{Text: "Unknown command: " + quoteArg(name)}
		}
	}
	return command{name: strings.ToUpper(name), arg: arg}, nil
}

// parseNumber parses a message number or a line count: decimal digits
// only. Values beyond uint32 saturate at its maximum (no mailbox holds
// that many messages, no message that many lines).
func parseNumber(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return ^uint32(0), true
	}
	return uint32(n), true
}
