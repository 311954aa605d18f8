package imap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/serve"
)

// Errors of the command parser. A *syntaxError is answered with BAD and
// the rest of the line is skipped; errLineTooLong and errFatal end the
// connection with BYE.
var (
	errLineTooLong = errors.New("imap: command line too long")
	errFatal       = errors.New("imap: unrecoverable protocol error")
)

// syntaxError is a client error answered with a tagged BAD (or NO with a
// response code when code is set).
type syntaxError struct {
	msg  string
	code string // response code, e.g. "TOOBIG"
	no   bool   // answer NO instead of BAD
	// skipped is set when the rest of the line was already consumed (a
	// refused synchronizing literal leaves nothing to skip).
	skipped bool
}

func (e *syntaxError) Error() string { return e.msg }

func badf(msg string) error { return &syntaxError{msg: msg} }

// reader parses IMAP commands from a client with the limits of the
// Server: a command line (literal payloads held in memory included) is at
// most maxLine bytes, and a literal announcement is checked against its
// limit before anything is allocated or a continuation is sent.
type reader struct {
	br      *bufio.Reader
	src     *serve.CountReader // under br: what the client sent (logout.go)
	lineLen int
	maxLine int
	// cont sends a "+" continuation request and flushes it.
	cont func() error
	// literalPlus allows non-synchronizing literals of any size (LITERAL+);
	// otherwise they are bounded by 4096 bytes (LITERAL-, RFC 7888).
	literalPlus bool
	// maxDiscard is how much of an oversized non-synchronizing literal is
	// read and thrown away before the connection is given up.
	maxDiscard int64
	// done is set once the current command line was read to its end.
	done bool
}

func newReader(r io.Reader, maxLine int) *reader {
	src := &serve.CountReader{R: r}
	return &reader{br: bufio.NewReaderSize(src, 8192), src: src, maxLine: maxLine, maxDiscard: 1 << 20}
}

// reset reads from r from now on (STARTTLS, COMPRESS), keeping the
// byte count.
func (r *reader) reset(src io.Reader) {
	r.src.N -= int64(r.br.Buffered()) // read again through src
	r.src.R = src
	r.br.Reset(r.src)
}

// startLine resets the per-command budget.
func (r *reader) startLine() { r.lineLen, r.done = 0, false }

// lineDone reports whether the current command's line end was consumed.
func (r *reader) lineDone() bool { return r.done }

func (r *reader) count(n int) error {
	r.lineLen += n
	if r.lineLen > r.maxLine {
		return errLineTooLong
	}
	return nil
}

func (r *reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) readByte() (byte, error) {
	b, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	return b, r.count(1)
}

// expect consumes byte c or fails with a syntax error.
func (r *reader) expect(c byte, what string) error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b != c {
		return badf("Expected " + what)
	}
	_, err = r.readByte()
	return err
}

func (r *reader) sp() error { return r.expect(' ', "space") }

// maybe consumes c if it comes next.
func (r *reader) maybe(c byte) (bool, error) {
	b, err := r.peek()
	if err != nil {
		return false, err
	}
	if b != c {
		return false, nil
	}
	_, err = r.readByte()
	return true, err
}

// crlf consumes the end of the line (CRLF, or a bare LF as Dovecot also
// accepts).
func (r *reader) crlf() error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b == '\r' {
		r.readByte()
		b, err = r.peek()
		if err != nil {
			return err
		}
	}
	if b != '\n' {
		return badf("Unexpected characters at end of command")
	}
	if _, err = r.readByte(); err == nil {
		r.done = true
	}
	return err
}

// atEOL reports whether the line ends here (without consuming it).
func (r *reader) atEOL() (bool, error) {
	b, err := r.peek()
	if err != nil {
		return false, err
	}
	return b == '\r' || b == '\n', nil
}

// skipLine discards input up to and including the next LF without
// allocating, so that a BAD command does not leave junk behind.
func (r *reader) skipLine() error {
	// tail keeps the end of a chunk that filled the buffer, so that a
	// literal announcement split across two reads is still recognised.
	var tail []byte
	for {
		b, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if err := r.count(len(b)); err != nil {
				return err
			}
			tail = append(tail[:0], b[max(0, len(b)-32):]...)
			continue
		}
		if err != nil {
			return err
		}
		// A non-synchronizing literal announced at the end of the
		// skipped part is still sent: its data must be thrown away, not
		// read as commands (a message body in a failed MULTIAPPEND).
		if n, ok := nonSyncLiteralAtEnd(append(tail, b[max(0, len(b)-32):]...)); ok {
			if err := r.discard(n); err != nil {
				return err
			}
			tail = tail[:0]
			continue
		}
		r.done = true
		return nil
	}
}

// nonSyncLiteralAtEnd reports the size of a "{n+}" literal announcement
// ending b (before CRLF or LF).
func nonSyncLiteralAtEnd(b []byte) (int64, bool) {
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if !bytes.HasSuffix(b, []byte("+}")) {
		return 0, false
	}
	b = b[:len(b)-2]
	i := len(b)
	for i > 0 && b[i-1] >= '0' && b[i-1] <= '9' {
		i--
	}
	if i == len(b) || i == 0 || b[i-1] != '{' || len(b)-i > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[i:]), 10, 64)
	return n, err == nil
}

// isAtomChar reports whether b may appear in an atom (RFC 9051
// ATOM-CHAR). extra lists further characters allowed in context (']' in
// an astring, '[' etc. in fetch attributes).
func isAtomChar(b byte) bool {
	switch {
	case b <= 0x1f, b == 0x7f, b >= 0x80:
		return false
	}
	switch b {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// atomUntil reads characters for which ok is true; it fails when none.
func (r *reader) atomFunc(ok func(byte) bool, what string) (string, error) {
	var sb strings.Builder
	for {
		b, err := r.peek()
		if err != nil {
			return "", err
		}
		if !ok(b) {
			break
		}
		r.readByte()
		if r.lineLen > r.maxLine {
			return "", errLineTooLong
		}
		sb.WriteByte(b)
	}
	if sb.Len() == 0 {
		return "", badf("Expected " + what)
	}
	return sb.String(), nil
}

func (r *reader) atom() (string, error) { return r.atomFunc(isAtomChar, "atom") }

// tag reads a command tag: ASTRING-CHARs except '+' (RFC 3501 9, so
// ']' is allowed).
func (r *reader) tag() (string, error) {
	return r.atomFunc(func(b byte) bool { return isAStringChar(b) && b != '+' }, "tag")
}

// flag reads a flag: an atom, or a backslash followed by an atom (or "*"
// in PERMANENTFLAGS-like contexts, which the caller handles).
func (r *reader) flag() (string, error) {
	bs, err := r.maybe('\\')
	if err != nil {
		return "", err
	}
	a, err := r.atom()
	if err != nil {
		return "", badf("Invalid flag")
	}
	if bs {
		return `\` + a, nil
	}
	return a, nil
}

func (r *reader) number64() (uint64, error) {
	s, err := r.atomFunc(func(b byte) bool { return b >= '0' && b <= '9' }, "number")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, badf("Number out of range")
	}
	return n, nil
}

func (r *reader) number() (uint32, error) {
	n, err := r.number64()
	if err != nil {
		return 0, err
	}
	if n > 0xffffffff {
		return 0, badf("Number out of range")
	}
	return uint32(n), nil
}

func (r *reader) nzNumber() (uint32, error) {
	n, err := r.number()
	if err == nil && n == 0 {
		err = badf("Zero is not a valid number here")
	}
	return n, err
}

// quoted reads a quoted string (the opening quote not yet consumed).
func (r *reader) quoted() (string, error) {
	if err := r.expect('"', "quoted string"); err != nil {
		return "", err
	}
	var sb strings.Builder
	for {
		b, err := r.readByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			return sb.String(), nil
		case '\\':
			b, err = r.readByte()
			if err != nil {
				return "", err
			}
			if b != '"' && b != '\\' {
				return "", badf("Invalid escape in quoted string")
			}
		case '\r', '\n', 0:
			return "", badf("Unterminated quoted string")
		}
		sb.WriteByte(b)
	}
}

// literalHeader is a parsed literal announcement.
type literalHeader struct {
	size    int64
	nonSync bool
	binary  bool // "~{n}" (BINARY, RFC 3516)
}

// literalHead reads "{n}", "{n+}" or "~{n}" and the CRLF after it. It
// does not send the continuation.
func (r *reader) literalHead() (literalHeader, error) {
	var h literalHeader
	bin, err := r.maybe('~')
	if err != nil {
		return h, err
	}
	h.binary = bin
	if err := r.expect('{', "literal"); err != nil {
		return h, err
	}
	n, err := r.number64()
	if err != nil {
		return h, badf("Invalid literal size")
	}
	h.size = int64(n)
	if h.nonSync, err = r.maybe('+'); err != nil {
		return h, err
	}
	if err := r.expect('}', "'}'"); err != nil {
		return h, err
	}
	if err := r.crlf(); err != nil {
		return h, badf("Expected end of line after literal size")
	}
	r.done = false // the command goes on after the literal
	return h, nil
}

// acceptLiteral checks an announced literal against limit. Within it, a
// synchronizing literal gets its continuation. Over it, a synchronizing
// literal is refused with [TOOBIG] (the client will not send it); a
// non-synchronizing one is read and discarded when small enough, else
// the connection cannot continue (errFatal).
func (r *reader) acceptLiteral(h literalHeader, limit int64) error {
	if h.nonSync && !r.literalPlus && h.size > 4096 {
		// LITERAL-: the client broke the rule, its data follows anyway.
		if err := r.discard(h.size); err != nil {
			return err
		}
		return &syntaxError{msg: "Non-synchronizing literal larger than 4096 bytes", code: "TOOBIG"}
	}
	if h.size > limit {
		if h.nonSync {
			if err := r.discard(h.size); err != nil {
				return err
			}
			return &syntaxError{msg: "Literal too large", code: "TOOBIG", no: true}
		}
		return &syntaxError{msg: "Literal too large", code: "TOOBIG", no: true, skipped: true}
	}
	if !h.nonSync && r.cont != nil {
		return r.cont()
	}
	return nil
}

// discard throws away n bytes of literal data the client is sending, or
// gives up on the connection when n is beyond maxDiscard.
func (r *reader) discard(n int64) error {
	if n > r.maxDiscard {
		return errFatal
	}
	_, err := io.CopyN(io.Discard, r.br, n)
	return err
}

// literal reads a literal string into memory; its bytes count against
// the command line budget.
func (r *reader) literal() (string, error) {
	h, err := r.literalHead()
	if err != nil {
		return "", err
	}
	limit := int64(r.maxLine - r.lineLen)
	if err := r.acceptLiteral(h, limit); err != nil {
		return "", err
	}
	if err := r.count(int(h.size)); err != nil {
		return "", err
	}
	buf := make([]byte, h.size)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

// str reads a string: quoted or literal.
func (r *reader) str() (string, error) {
	b, err := r.peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return r.quoted()
	case '{', '~':
		return r.literal()
	}
	return "", badf("Expected string")
}

// startsString reports whether a string (quoted, literal or literal8)
// begins here. '~' is an ATOM-CHAR (RFC 3501 9): only "~{" opens a
// literal8, so "~foo" is an atom.
func (r *reader) startsString() (bool, error) {
	b, err := r.peek()
	if err != nil {
		return false, err
	}
	switch b {
	case '"', '{':
		return true, nil
	case '~':
		p, err := r.br.Peek(2)
		if err != nil {
			return false, err
		}
		return p[1] == '{', nil
	}
	return false, nil
}

func isAStringChar(b byte) bool { return isAtomChar(b) || b == ']' }

// astring reads an atom (']' allowed) or a string.
func (r *reader) astring() (string, error) {
	if ok, err := r.startsString(); err != nil || ok {
		if err != nil {
			return "", err
		}
		return r.str()
	}
	return r.atomFunc(isAStringChar, "string")
}

// nstring reads NIL or a string; ok is false for NIL.
func (r *reader) nstring() (s string, ok bool, err error) {
	isStr, err := r.startsString()
	if err != nil {
		return "", false, err
	}
	if isStr {
		s, err = r.str()
		return s, true, err
	}
	a, err := r.atom()
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, badf("Expected string or NIL")
	}
	return "", false, nil
}

// listMailbox reads the pattern argument of LIST/LSUB: list-char atoms
// (with % and *) or a string.
func (r *reader) listMailbox() (string, error) {
	if ok, err := r.startsString(); err != nil || ok {
		if err != nil {
			return "", err
		}
		return r.str()
	}
	return r.atomFunc(func(b byte) bool { return isAStringChar(b) || b == '%' || b == '*' }, "mailbox pattern")
}

// list parses "(" item *(SP item) ")" calling item for each; an empty
// list "()" is allowed.
func (r *reader) list(item func() error) error {
	if err := r.expect('(', "'('"); err != nil {
		return err
	}
	if ok, err := r.maybe(')'); ok || err != nil {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		b, err := r.readByte()
		if err != nil {
			return err
		}
		switch b {
		case ')':
			return nil
		case ' ':
		default:
			return badf("Expected space or ')' in list")
		}
	}
}

// flagList reads a parenthesised flag list (or, where single is true,
// also a single flag without parentheses, as STORE allows).
func (r *reader) flagList(single bool) ([]string, error) {
	var flags []string
	b, err := r.peek()
	if err != nil {
		return nil, err
	}
	if b != '(' && single {
		for {
			f, err := r.flag()
			if err != nil {
				return nil, err
			}
			flags = append(flags, f)
			if ok, err := r.atEOL(); ok || err != nil {
				return flags, err
			}
			if err := r.sp(); err != nil {
				return nil, err
			}
		}
	}
	err = r.list(func() error {
		f, err := r.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}
