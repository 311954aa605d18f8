package smtp

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/yubinmail/yubin/restrict"
)

// ContentChecker is implemented by a Policy that inspects message
// content as Postfix's cleanup does with header_checks and body_checks;
// *restrict.Policy does. Once the message header has been read (the
// server's own Received: line included, as cleanup sees it) the server
// calls CheckHeaders once per header field, in order, with that field
// alone, as cleanup inspects them: the field's PREPEND lines go right
// before it, and a REPLACE or IGNORE edit (HeaderEdits index 0) applies
// to it. Then it calls CheckBody for each body line up to
// MaxBodyCheckBytes, before the Session sees them. A Reject or Defer
// stops the message (the Session gets an error from its reader and must
// not store it; no further fields or lines are checked) and is sent as
// the reply to the end of data; Discard accepts it with 250 and drops
// it. A Policy that is also a ContentScanner (as *restrict.Policy is) is
// used through its ContentScan instead, MIME part by MIME part. When the
// Policy has a method InspectsContent() bool (as *restrict.Policy has)
// that says false, or else a method Params() restrict.Params whose
// header_checks and body_checks are empty, messages are not inspected at
// all; a wrapper around a *restrict.Policy should pass NewContentScan,
// InspectsContent and Params through.
type ContentChecker interface {
	CheckHeaders(ctx context.Context, hdrs []restrict.HeaderLine) (restrict.Decision, error)
	CheckBody(ctx context.Context, line string) (restrict.Decision, error)
}

// Defaults of the content inspection limits.
const (
	DefaultMaxHeaderBytes    = 102400 // header_size_limit
	DefaultMaxBodyCheckBytes = 51200  // body_checks_size_limit
)

// contentChecker returns the Policy's ContentChecker when it has checks
// to run: a *restrict.Policy without header_checks and body_checks is
// skipped, so messages are not parsed for nothing.
func (s *Server) contentChecker() ContentChecker {
	s.ccOnce.Do(func() {
		cc, ok := s.Policy.(ContentChecker)
		if !ok {
			return
		}
		if ic, ok := s.Policy.(interface{ InspectsContent() bool }); ok {
			if !ic.InspectsContent() {
				return
			}
		} else if pp, ok := s.Policy.(interface{ Params() restrict.Params }); ok {
			p := pp.Params()
			if strings.TrimSpace(p.Get("header_checks")) == "" && strings.TrimSpace(p.Get("body_checks")) == "" {
				return
			}
		}
		s.cc = cc
	})
	return s.cc
}

// contentFilter runs the ContentChecker over the message as the Session
// reads it: the header is held back until it is complete and checked,
// then emitted (with edits); body lines are checked as they pass.
type contentFilter struct {
	ss       *session
	cc       ContentChecker
	ec       *endCheck // receives a refusal
	src      *bufio.Reader
	out      []byte
	inHeader bool
	bodyLeft int
	err      error
	scan     *restrict.ContentScan // the MIME-aware path, when the Policy has it
}

func newContentFilter(ss *session, cc ContentChecker, r io.Reader) *contentFilter {
	f := &contentFilter{ss: ss, cc: cc, src: bufio.NewReader(r), inHeader: true,
		bodyLeft: orInt(ss.srv.MaxBodyCheckBytes, DefaultMaxBodyCheckBytes)}
	if ns := contentScanner(cc); ns != nil {
		f.scan = ns()
	}
	return f
}

func (f *contentFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 && f.err == nil {
		if f.scan != nil {
			f.scanStep()
		} else if f.inHeader {
			f.header()
		} else if f.bodyLeft > 0 {
			f.bodyLine()
		} else {
			return f.src.Read(p)
		}
	}
	if len(f.out) == 0 {
		return 0, f.err
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// refuse records a decision that stops the message.
func (f *contentFilter) refuse(d restrict.Decision) {
	f.ec.refusal = &d
	f.ec.content = true
	f.err = errPolicyRefused
	f.out = nil
}

// verdict applies a content decision; it reports whether the message
// goes on.
func (f *contentFilter) verdict(d restrict.Decision, err error) bool {
	ss := f.ss
	if err != nil {
		ss.srv.logger().Error("warning: content check failed: "+err.Error(), "service", ss.info.Service)
		if d.Code == 0 {
			d = restrict.Decision{Action: restrict.Defer, Code: 451, Enhanced: "4.3.5", Text: "Server configuration error"}
		}
	}
	for _, w := range d.Warnings {
		ss.logCleanup(w, d)
	}
	switch {
	case err != nil, d.Action == restrict.Reject, d.Action == restrict.Defer:
		if d.Code == 0 {
			d.Code, d.Enhanced = 550, "5.7.1"
		}
		f.refuse(d)
		return false
	case d.Action == restrict.Discard:
		f.refuse(d)
		return false
	}
	if ss.env != nil && (d.Action == restrict.Hold || d.Redirect != "" || d.Filter != "") {
		ss.env.Actions.apply(d)
	}
	return true
}

// header reads the whole header (up to MaxHeaderBytes), checks it and
// queues it for output.
func (f *contentFilter) header() {
	f.inHeader = false
	limit := orInt(f.ss.srv.MaxHeaderBytes, DefaultMaxHeaderBytes)
	var raw []byte   // the header as read
	var starts []int // offset in raw of each field
	var rest []byte  // the line that ended the header
	for len(raw) < limit && rest == nil {
		line, err := f.readLine(limit - len(raw))
		switch {
		case len(line) == 0:
		case (line[0] == ' ' || line[0] == '\t') && len(starts) > 0:
			// Folded continuation of the previous field.
			raw = append(raw, line...)
		case isFieldStart(line):
			starts = append(starts, len(raw))
			raw = append(raw, line...)
		default:
			// The empty line, or the first line that is not a header
			// field: the body starts here.
			rest = line
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.err = err
			return
		}
	}
	// As cleanup(8) does, each field is checked on its own, in order, so
	// a PREPEND goes right before the field that matched.
	var b bytes.Buffer
	b.Grow(len(raw) + len(rest))
	for i, st := range starts {
		end := len(raw)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		field := string(bytes.TrimRight(raw[st:end], "\r\n"))
		name, value, _ := strings.Cut(field, ":")
		one := []restrict.HeaderLine{{Name: name, Value: strings.TrimPrefix(value, " ")}}
		d, err := f.cc.CheckHeaders(f.ss.ctx, one)
		if !f.verdict(d, err) {
			return
		}
		for _, l := range d.Prepend {
			b.WriteString(strings.Map(noCRLF, l) + "\r\n")
		}
		edited := false
		for _, e := range d.HeaderEdits {
			if e.Index != 0 || edited {
				continue
			}
			edited = true
			if !e.Delete {
				b.WriteString(strings.Map(noCRLF, e.Replace) + "\r\n")
			}
		}
		if !edited {
			b.Write(raw[st:end])
		}
	}
	b.Write(rest)
	f.out = b.Bytes()
}

// readLine reads one line (a copy), at most max bytes of it; a longer
// line is returned in pieces.
func (f *contentFilter) readLine(max int) ([]byte, error) {
	var out []byte
	for {
		frag, err := f.src.ReadSlice('\n')
		out = append(out, frag...)
		if err != bufio.ErrBufferFull {
			return out, err
		}
		if len(out) >= max {
			return out, nil
		}
	}
}

// bodyLine reads one body line (or a piece of a long one) and checks it.
func (f *contentFilter) bodyLine() {
	line, err := f.src.ReadSlice('\n')
	if len(line) > 0 {
		f.bodyLeft -= len(line)
		text := strings.TrimRight(string(line), "\r\n")
		d, cerr := f.cc.CheckBody(f.ss.ctx, text)
		if !f.verdict(d, cerr) {
			return
		}
		f.out = line
		if len(d.Prepend) > 0 {
			// As cleanup(8) does, a body_checks PREPEND line goes right
			// before the line that matched.
			var b []byte
			for _, l := range d.Prepend {
				b = append(append(b, strings.Map(noCRLF, l)...), '\r', '\n')
			}
			f.out = append(b, line...)
		}
	}
	if err != nil && err != bufio.ErrBufferFull {
		f.err = err
	}
}

// isFieldStart reports whether line starts a header field ("Name:").
func isFieldStart(line []byte) bool {
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return false
}

func noCRLF(r rune) rune {
	if r == '\r' || r == '\n' {
		return ' '
	}
	return r
}

// logCleanup writes a header_checks or body_checks result line as
// Postfix's cleanup logs it,
//
//	QUEUEID: reject: header Subject: xyz from unknown[127.0.0.1]; from=<a@example.org> to=<b@example.jp> proto=ESMTP helo=<h>: 5.7.1 text
//
// where w is restrict's "reject: header Subject: xyz: text" (the text
// of a refusal moved to the end, as cleanup puts it).
func (ss *session) logCleanup(w string, d restrict.Decision) {
	text := ""
	if strings.HasPrefix(w, "reject: ") && d.Code != 0 {
		text = d.Enhanced + " " + d.Text
		for _, suffix := range []string{": " + text, ": " + d.Text} {
			if strings.HasSuffix(w, suffix) {
				w = w[:len(w)-len(suffix)]
				break
			}
		}
	}
	to := "" // the last recipient accepted, as cleanup's state->recip
	if len(ss.rcpts) > 0 {
		to = ss.rcpts[len(ss.rcpts)-1].Addr
	}
	proto := "SMTP"
	if ss.info.ESMTP {
		proto = "ESMTP"
	}
	line := ss.queueID + ": " + w + " from " + ss.clientStr + "; from=<" + ss.fromOr() + "> to=<" + to + "> proto=" + proto + " helo=<" + ss.info.Helo + ">"
	if text != "" {
		line += ": " + text
	}
	ss.srv.logger().Info(line, "service", "cleanup")
}

func (ss *session) fromOr() string {
	if ss.from == nil {
		return ""
	}
	return *ss.from
}
