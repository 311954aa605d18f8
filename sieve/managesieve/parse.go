package managesieve

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// argKind is the syntax an argument was sent in (RFC 5804 section 4).
type argKind int

const (
	argAtom   argKind = iota // a command name or a bare number
	argString                // a quoted string or a literal
)

// arg is one parsed command argument.
type arg struct {
	kind argKind
	s    string
}

// command is one parsed client command.
type command struct {
	name string // upper-cased
	args []arg
}

// maxArgs bounds the arguments of one command; no command takes more
// than two, so a few spare ones only give better error messages.
const maxArgs = 8

// Parse errors. errLineTooLong and *literalTooLarge leave the reader at
// a known place (after the line, before the literal's data); the other
// syntax errors leave the rest of the line read.
var (
	errLineTooLong = errors.New("managesieve: line too long")
	errSyntax      = errors.New("managesieve: syntax error")
	errTooManyArgs = errors.New("managesieve: too many arguments")
)

// literalTooLarge is a literal over the limit; its data (size octets)
// follows in the reader.
type literalTooLarge struct{ size int64 }

func (e *literalTooLarge) Error() string { return "managesieve: literal too large" }

// limits bound one command.
type limits struct {
	line    int   // a line, CRLF included
	literal int64 // one literal's data
}

// readCommand reads one command: words, quoted strings and literals
// ({n+} or {n}: RFC 5804 allows only the first from clients, Dovecot
// accepts both and sends no continuation for either, nor does this),
// up to the CRLF that ends it.
func readCommand(r *bufio.Reader, lim limits) (command, error) {
	var c command
	args, err := readArgs(r, lim)
	if err != nil {
		return c, err
	}
	if len(args) == 0 {
		return c, errSyntax
	}
	if args[0].kind != argAtom {
		return c, errSyntax
	}
	c.name = upper(args[0].s)
	if len(args) > 1 {
		c.args = args[1:]
	}
	return c, nil
}

// readArgs reads the tokens of one command (or of a SASL response
// line) to its CRLF.
func readArgs(r *bufio.Reader, lim limits) ([]arg, error) {
	var args []arg
	for {
		line, err := readLine(r, lim.line)
		if err != nil {
			return nil, err
		}
		more, n, err := tokenize(line, &args)
		if err != nil {
			return nil, skipCommand(r, lim, line, err)
		}
		if !more {
			return args, nil
		}
		if n > lim.literal {
			return nil, &literalTooLarge{size: n}
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if len(args) >= maxArgs {
			return nil, errTooManyArgs
		}
		args = append(args, arg{kind: argString, s: string(buf)})
		// The line goes on after the literal: " more args" or CRLF.
	}
}

// skipCommand reads the rest of a command that failed to parse on
// line, so that literal data it announced is not taken for commands,
// and returns err (or the error that stopped the skipping).
func skipCommand(r *bufio.Reader, lim limits, line []byte, err error) error {
	for {
		i := bytes.LastIndexByte(line, '{')
		if i < 0 {
			return err
		}
		n, end, herr := literalHead(line, i)
		if herr != nil || end != len(line) {
			return err
		}
		if n > lim.literal {
			return &literalTooLarge{size: n}
		}
		if _, derr := io.CopyN(io.Discard, r, n); derr != nil {
			return derr
		}
		var rerr error
		if line, rerr = readLine(r, lim.line); rerr != nil {
			return rerr
		}
	}
}

// tokenize appends the arguments of line (a continuation line begins
// after a literal: empty, or a space and more arguments). It returns
// more when the line ends in a literal announcement, with its size.
func tokenize(line []byte, args *[]arg) (more bool, n int64, err error) {
	i := 0
	first := len(*args) == 0
	for {
		if i == len(line) {
			return false, 0, nil
		}
		if !first {
			if line[i] != ' ' {
				return false, 0, errSyntax
			}
			i++
			if i == len(line) {
				return false, 0, errSyntax // a trailing space
			}
		}
		first = false
		if len(*args) >= maxArgs {
			return false, 0, errTooManyArgs
		}
		switch c := line[i]; {
		case c == '"':
			s, end, err := quoted(line, i+1)
			if err != nil {
				return false, 0, err
			}
			*args = append(*args, arg{kind: argString, s: s})
			i = end
		case c == '{':
			size, end, err := literalHead(line, i)
			if err != nil {
				return false, 0, err
			}
			if end != len(line) {
				return false, 0, errSyntax // a literal ends the line
			}
			return true, size, nil
		case isAtomChar(c):
			j := i
			for j < len(line) && isAtomChar(line[j]) {
				j++
			}
			*args = append(*args, arg{kind: argAtom, s: string(line[i:j])})
			i = j
		default:
			return false, 0, errSyntax
		}
	}
}

// quoted parses a quoted string whose content starts at line[i]; it
// returns the unescaped text and the index after the closing quote.
// RFC 5804's quoted strings take \" and \\ only, and no CR, LF or NUL.
func quoted(line []byte, i int) (string, int, error) {
	var b []byte
	start := i
	for i < len(line) {
		switch c := line[i]; c {
		case '"':
			if b == nil {
				return string(line[start:i]), i + 1, nil
			}
			return string(b), i + 1, nil
		case '\\':
			if i+1 >= len(line) || (line[i+1] != '"' && line[i+1] != '\\') {
				return "", 0, errSyntax
			}
			if b == nil {
				b = append([]byte{}, line[start:i]...)
			}
			b = append(b, line[i+1])
			i += 2
		case 0, '\r', '\n':
			return "", 0, errSyntax
		default:
			if b != nil {
				b = append(b, c)
			}
			i++
		}
	}
	return "", 0, errSyntax
}

// literalHead parses "{n+}" or "{n}" at line[i].
func literalHead(line []byte, i int) (int64, int, error) {
	j := i + 1
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j == i+1 || j-i-1 > 10 {
		return 0, 0, errSyntax
	}
	n, err := strconv.ParseInt(string(line[i+1:j]), 10, 64)
	if err != nil {
		return 0, 0, errSyntax
	}
	if j < len(line) && line[j] == '+' {
		j++
	}
	if j >= len(line) || line[j] != '}' {
		return 0, 0, errSyntax
	}
	return n, j + 1, nil
}

// isAtomChar reports whether c may appear in a command name or number:
// ASCII letters, digits and a few safe marks.
func isAtomChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// readLine reads one line ending in LF (CRLF, or a bare LF) and returns
// it without the ending. A line longer than max is read no further:
// errLineTooLong, and the session ends, since what follows cannot be
// told from the rest of the line.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			return nil, errLineTooLong
		}
		if err == nil {
			if buf == nil {
				return trimEOL(chunk), nil
			}
			return trimEOL(append(buf, chunk...)), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		buf = append(buf, chunk...)
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
