package restrict

import (
	"bytes"
	"context"
	"strings"
)

// MIME parser states, content types and subtypes, and encodings, as in
// Postfix's mime_state.c.
const (
	mimePrimary   = iota // primary message headers
	mimeMultipart        // headers after a --boundary line
	mimeNested           // headers of an attached message/rfc822
	mimeBody
)

const (
	ctypeOther = iota
	ctypeText
	ctypeMessage
	ctypeMultipart
)

const (
	stypeOther = iota
	stypePlain
	stypeRFC822
	stypePartial
	stypeExternBody
	stypeGlobal
)

const (
	encQP     = 1
	encBase64 = 2
	enc7bit   = 7
	enc8bit   = 8
	encBinary = 9
)

// MIME errors (MIME_ERR_*) and processing options (MIME_OPT_*).
const (
	mimeErrTruncHeader = 1 << iota
	mimeErrNesting
	mimeErr8bitInHeader
	mimeErr8bitIn7bitBody
	mimeErrEncodingDomain
)

const (
	mimeOptDisable = 1 << iota
	mimeOptReport8bitInHeader
	mimeOptReport8bitIn7bitBody
	mimeOptReportEncodingDomain
	mimeOptReportNesting
)

// mimeErrDetail maps MIME errors to cleanup's rejection (most serious
// first: one reply reports one error), as mime_state.c's table.
var mimeErrDetail = []struct {
	code            int
	dsn, text, what string
}{
	{mimeErrNesting, "5.6.0", "MIME nesting exceeds safety limit", "mime_nesting_limit"},
	{mimeErrTruncHeader, "5.6.0", "message header length exceeds safety limit", "header_size_limit"},
	{mimeErr8bitInHeader, "5.6.0", "improper use of 8-bit data in message header", "strict_7bit_headers"},
	{mimeErr8bitIn7bitBody, "5.6.0", "improper use of 8-bit data in message body", "strict_8bitmime_body"},
	{mimeErrEncodingDomain, "5.6.0", "invalid message/* or multipart/* encoding domain", "strict_mime_encoding_domain"},
}

var mimeEncodings = []struct {
	name             string
	encoding, domain int
}{
	{"7bit", enc7bit, enc7bit},
	{"8bit", enc8bit, enc8bit},
	{"binary", encBinary, encBinary},
	{"base64", encBase64, enc7bit},
	{"quoted-printable", encQP, enc7bit},
}

// mimeConfig is what a ContentScan takes from the Policy's parameters;
// New computes it once.
type mimeConfig struct {
	opts        int
	headerLimit int  // header_size_limit
	boundLimit  int  // mime_boundary_length_limit
	maxDepth    int  // mime_nesting_limit
	bodyLimit   int  // body_checks_size_limit (0: no limit)
	lineLimit   int  // line_length_limit
	strayCR     bool // cleanup_replace_stray_cr_lf
	inspect     bool
}

// compileMIME reads the content inspection parameters, as cleanup(8)
// sets up its MIME options.
func (p *Policy) compileMIME() {
	pp := p.params
	c := mimeConfig{
		headerLimit: int(pp.Int("header_size_limit")),
		boundLimit:  int(pp.Int("mime_boundary_length_limit")),
		maxDepth:    int(pp.Int("mime_nesting_limit")),
		bodyLimit:   int(pp.Int("body_checks_size_limit")),
		lineLimit:   int(pp.Int("line_length_limit")),
		strayCR:     pp.Bool("cleanup_replace_stray_cr_lf"),
	}
	if c.headerLimit <= 0 {
		c.headerLimit = 102400
	}
	if c.boundLimit <= 0 {
		c.boundLimit = 2048
	}
	if c.lineLimit <= 0 {
		c.lineLimit = 2048
	}
	if c.bodyLimit < 0 {
		c.bodyLimit = 0
	}
	set := func(n string) bool { return strings.TrimSpace(pp.Get(n)) != "" }
	strict8bitmime, strict7bitHdrs := pp.Bool("strict_8bitmime"), pp.Bool("strict_7bit_headers")
	strict8bitBody, strictDomain := pp.Bool("strict_8bitmime_body"), pp.Bool("strict_mime_encoding_domain")
	if pp.Bool("disable_mime_input_processing") {
		c.opts |= mimeOptDisable
	} else {
		if strict8bitmime || strict7bitHdrs {
			c.opts |= mimeOptReport8bitInHeader
		}
		if strict8bitmime || strict8bitBody {
			c.opts |= mimeOptReport8bitIn7bitBody
		}
		if strictDomain {
			c.opts |= mimeOptReportEncodingDomain
		}
		if strict8bitmime || strict7bitHdrs || strict8bitBody || strictDomain ||
			set("header_checks") || set("mime_header_checks") || set("nested_header_checks") {
			c.opts |= mimeOptReportNesting
		}
	}
	c.inspect = p.headerChecks != nil || p.mimeHeaderChecks != nil || p.nestedHeaderChecks != nil ||
		p.bodyChecks != nil || c.opts&(mimeOptReport8bitInHeader|mimeOptReport8bitIn7bitBody|mimeOptReportEncodingDomain) != 0
	p.mime = c
}

// InspectsContent reports whether the Policy has message content to
// inspect: header_checks, mime_header_checks, nested_header_checks or
// body_checks, or a strict_* MIME check. A server may skip
// [Policy.NewContentScan] when it does not.
func (p *Policy) InspectsContent() bool { return p.mime.inspect }

// mimeBoundary is one entry of the multipart boundary stack.
type mimeBoundary struct {
	defCtype, defStype int
	boundary           []byte
}

// ContentScan inspects one message as Postfix 3.7's cleanup(8) does: it
// parses MIME the way mime_state.c does (a one-pass state machine with a
// stack of multipart boundaries) and applies header_checks to the
// primary message headers, mime_header_checks to MIME headers (of the
// primary header too) and to the headers of each body part,
// nested_header_checks to the headers of attached message/rfc822 parts,
// and body_checks to the first body_checks_size_limit bytes of each body
// part (boundary lines included, as cleanup sees them). Lines longer than
// line_length_limit are inspected in pieces of that size, as Postfix's
// smtpd stores them. A header longer than header_size_limit is inspected
// and passed on without its excess, as cleanup does.
//
// Get one per message from [Policy.NewContentScan], feed it the message
// as received (after dot-unstuffing) with Feed and finish with End. Each
// call returns the text to pass on (header and body edits applied) and a
// Decision: a Reject, Defer or Discard ends the message; Hold, Filter,
// Redirect and Warnings are to be applied or logged; Restriction names
// the checks that decided ("mime_header_checks", "mime_nesting_limit").
// Memory stays within header_size_limit plus a few lines, plus at most
// mime_nesting_limit+2 boundaries of at most mime_boundary_length_limit
// bytes, plus what one call passes on; time is linear in the message
// size times that stack depth (a 20,000-deep multipart bomb of 1.4 MB
// takes tens of milliseconds).
//
// When the whole message has been read without a refusal, End reports
// MIME errors as cleanup does: nesting deeper than mime_nesting_limit
// (when header checks are configured) and the strict_* checks give
// "550 5.6.0 ..." unless a content check rejected the message first.
type ContentScan struct {
	// Observe, when set, is called with every decision other than
	// Dunno that Feed or End returns (a server's counters).
	Observe func(Decision)

	p   *Policy
	cfg *mimeConfig
	ctx context.Context

	// mime_state.c's state.
	state, ctype, stype, encoding, domain int
	stack                                 []mimeBoundary
	hdr                                   []byte // the pending header, as cleanup sees it
	hdrKind                               int
	prevCont                              bool
	bodyOffset                            int
	errFlags                              int
	toks                                  [3]hdrToken
	tokBuf                                []byte

	// Record assembly: the current record's text and raw bytes, and the
	// raw bytes of the pending header.
	rec, raw, held []byte
	cur            []byte // the raw bytes of the record being run
	crBuf          []byte // the record's text with stray CRs made spaces
	curStable      bool   // cur is the caller's and may be passed back uncopied

	out, buf []byte
	aliased  bool // out is the caller's bytes, not buf
	dec      Decision
	filterOK bool // checks still run (cleanup's CLEANUP_FLAG_FILTER_ALL)
	rejected bool // a check rejected: MIME errors are not reported
	stop     bool // the decision ends the message
	err      error
}

// NewContentScan returns the content inspection state for one message.
func (p *Policy) NewContentScan() *ContentScan {
	return &ContentScan{p: p, cfg: &p.mime, state: mimePrimary, ctype: ctypeText, stype: stypePlain,
		encoding: enc7bit, domain: enc7bit, filterOK: true}
}

// Feed inspects the next bytes of the message (lines end in CRLF or LF;
// data may end inside a line). It returns the bytes to pass on now,
// valid until the next call (a header is held back until it is complete),
// and the decision of the checks that ran. After a Reject, Defer or
// Discard, or an error, it inspects nothing more.
func (s *ContentScan) Feed(ctx context.Context, data []byte) ([]byte, Decision, error) {
	s.begin(ctx)
	lim := s.cfg.lineLimit
	for len(data) > 0 && !s.stop {
		room := lim - len(s.rec)
		look := data
		if len(look) > room {
			look = look[:room]
		}
		i := bytes.IndexByte(look, '\n')
		switch {
		case i >= 0 && len(s.rec) == 0:
			// A whole line in data: no copy.
			text := data[:i]
			if i > 0 && text[i-1] == '\r' {
				text = text[:i-1]
			}
			s.curStable = true
			s.record(text, data[:i+1], false)
			s.curStable = false
			data = data[i+1:]
		case i >= 0:
			s.raw = append(s.raw, data[:i+1]...)
			s.rec = append(s.rec, data[:i]...)
			if n := len(s.rec); n > 0 && s.rec[n-1] == '\r' {
				s.rec = s.rec[:n-1]
			}
			data = data[i+1:]
			s.record(s.rec, s.raw, false)
		case len(data) >= room:
			s.raw = append(s.raw, data[:room]...)
			s.rec = append(s.rec, data[:room]...)
			data = data[room:]
			s.record(s.rec, s.raw, true)
		default:
			s.raw = append(s.raw, data...)
			s.rec = append(s.rec, data...)
			data = nil
		}
	}
	return s.finish()
}

// End finishes the message: it passes on a header still held back and
// reports MIME errors (see ContentScan).
func (s *ContentScan) End(ctx context.Context) ([]byte, Decision, error) {
	s.begin(ctx)
	if !s.stop && len(s.raw) > 0 {
		s.record(s.rec, s.raw, false) // a last line without its line end
	}
	if !s.stop && s.prevCont {
		s.update(nil, false)
	}
	if !s.stop && s.state != mimeBody {
		if len(s.hdr) > 0 {
			s.flushHeader()
		}
		s.endOfHeaders()
		s.setCurr(mimeBody)
	}
	if errs := s.errFlags &^ mimeErrTruncHeader; !s.stop && errs != 0 && !s.rejected {
		for _, e := range mimeErrDetail {
			if errs&e.code != 0 {
				s.dec.Action, s.dec.Code, s.dec.Enhanced, s.dec.Text = Reject, 550, e.dsn, e.text
				s.dec.Restriction = e.what
				s.stop = true
				break
			}
		}
	}
	return s.finish()
}

func (s *ContentScan) begin(ctx context.Context) {
	s.ctx = ctx
	s.out, s.aliased = s.buf[:0], false
	s.dec = Decision{}
}

func (s *ContentScan) finish() ([]byte, Decision, error) {
	s.ctx = nil
	if s.Observe != nil && s.dec.Action != Dunno {
		s.Observe(s.dec)
	}
	if !s.aliased {
		s.buf = s.out[:0]
	}
	return s.out, s.dec, s.err
}

// emit queues b to pass on, a copy in buf, except that the caller's
// own bytes (stable) are passed back uncopied when they are all the call
// passes on.
func (s *ContentScan) emit(b []byte, stable bool) {
	switch {
	case len(b) == 0:
	case len(s.out) == 0 && stable:
		s.out, s.aliased = b, true
	case s.aliased:
		s.out = append(append(s.buf[:0], s.out...), b...)
		s.aliased = false
	default:
		s.out = append(s.out, b...)
	}
}

// record runs one record (a line, or a line_length_limit piece of a
// longer one when cont; raw is its bytes as received) through the state
// machine and routes raw: held with the pending header, dropped past
// header_size_limit, or already passed on as body.
func (s *ContentScan) record(text, raw []byte, cont bool) {
	if s.cfg.strayCR && bytes.IndexByte(text, '\r') >= 0 {
		// cleanup_replace_stray_cr_lf: a CR that does not end the line
		// is inspected as a space.
		s.crBuf = append(s.crBuf[:0], text...)
		for i, c := range s.crBuf {
			if c == '\r' {
				s.crBuf[i] = ' '
			}
		}
		text = s.crBuf
	}
	s.cur = raw
	if s.update(text, cont) == recHeld {
		s.held = append(s.held, raw...)
	}
	s.cur = nil
	s.rec, s.raw = s.rec[:0], s.raw[:0]
}

const (
	recBody = iota
	recHeld
	recDropped
)

func (s *ContentScan) setState(state, ctype, stype, enc, dom int) {
	s.state, s.ctype, s.stype, s.encoding, s.domain = state, ctype, stype, enc, dom
	if state == mimeBody {
		s.bodyOffset = 0
	}
}

func (s *ContentScan) setCurr(state int) {
	s.state = state
	if state == mimeBody {
		s.bodyOffset = 0
	}
}

// report records a MIME error once, with a log line as cleanup's.
func (s *ContentScan) report(code int, text []byte) {
	if s.errFlags&code != 0 {
		return
	}
	s.errFlags |= code
	if code == mimeErrTruncHeader {
		return
	}
	for _, e := range mimeErrDetail {
		if e.code == code {
			shown := printable(string(text[:min(len(text), 100)]))
			l := "reject: mime-error " + e.text + ": " + shown
			s.dec.Warnings = append(s.dec.Warnings, l) // logged by the caller, as content results
		}
	}
}

// update is mime_state_update for one text record.
func (s *ContentScan) update(text []byte, cont bool) int {
	prevCont := s.prevCont
	s.prevCont = cont
	if s.state != mimeBody {
		if len(s.hdr) > 0 {
			if prevCont || (len(text) > 0 && (text[0] == ' ' || text[0] == '\t')) {
				if len(s.hdr) >= s.cfg.headerLimit {
					s.report(mimeErrTruncHeader, s.hdr)
					return recDropped
				}
				if !prevCont {
					s.hdr = append(s.hdr, '\n')
				}
				s.hdr = append(s.hdr, text...)
				return recHeld
			}
			s.flushHeader()
		}
		if n := isHeaderBuf(text); n > 0 {
			s.hdr = append(s.hdr[:0], text[:n]...)
			rest := text[n:]
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				rest = rest[1:]
			}
			s.hdr = append(s.hdr, rest...)
			s.hdrKind = headerKind(text[:n])
			return recHeld
		}
		s.endOfHeaders()
		if len(text) == 0 {
			s.bodyOffset = 0
			switch s.ctype {
			case ctypeMessage:
				if s.stype == stypeRFC822 || s.stype == stypeGlobal {
					s.setState(mimeNested, ctypeText, stypePlain, enc7bit, enc7bit)
				} else {
					s.setCurr(mimeBody)
				}
			case ctypeMultipart:
				s.setState(mimeBody, ctypeOther, stypeOther, enc7bit, enc7bit)
			default:
				s.setCurr(mimeBody)
			}
		} else {
			// Not a header: the header block ends here. After the
			// primary header cleanup inserts an empty line.
			if s.state == mimePrimary {
				s.bodyOut(nil, true)
			}
			s.setCurr(mimeBody)
		}
	}
	// Body text (also the line that ended a header block).
	if s.cfg.opts&mimeOptReport8bitIn7bitBody != 0 && s.encoding == enc7bit && s.errFlags&mimeErr8bitIn7bitBody == 0 {
		if has8bit(text) {
			s.report(mimeErr8bitIn7bitBody, text)
		}
	}
	if len(s.stack) > 0 && !prevCont && len(text) > 2 && text[0] == '-' && text[1] == '-' {
		for i := len(s.stack) - 1; i >= 0; i-- {
			b := s.stack[i].boundary
			if len(text) < 2+len(b) || !bytes.Equal(text[2:2+len(b)], b) {
				continue
			}
			s.stack = s.stack[:i+1]
			if len(text) >= 4+len(b) && text[2+len(b)] == '-' && text[3+len(b)] == '-' {
				s.stack = s.stack[:i]
				s.setState(mimeBody, ctypeOther, stypeOther, enc7bit, enc7bit)
			} else {
				s.setState(mimeMultipart, s.stack[i].defCtype, s.stack[i].defStype, enc7bit, enc7bit)
			}
			break
		}
	}
	s.bodyOut(text, false)
	return recBody
}

// endOfHeaders checks the encoding domain of a message or multipart
// entity when strict_mime_encoding_domain asks.
func (s *ContentScan) endOfHeaders() {
	if s.cfg.opts&mimeOptReportEncodingDomain == 0 {
		return
	}
	bad := false
	switch s.ctype {
	case ctypeMessage:
		switch s.stype {
		case stypePartial, stypeExternBody:
			bad = s.domain != enc7bit
		case stypeRFC822:
			bad = s.encoding != s.domain
		}
	case ctypeMultipart:
		bad = s.encoding != s.domain
	}
	if bad {
		name := "unknown"
		for _, e := range mimeEncodings {
			if e.encoding == s.encoding {
				name = e.name
			}
		}
		s.report(mimeErrEncodingDomain, []byte(name))
	}
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// flushHeader ends the pending header: MIME processing of Content-Type
// and Content-Transfer-Encoding, the 8-bit check, then the header checks
// of its class.
func (s *ContentScan) flushHeader() {
	if s.cfg.opts&mimeOptDisable == 0 {
		switch s.hdrKind {
		case hdrContentType:
			s.contentType()
		case hdrContentEncoding:
			s.contentEncoding()
		}
	}
	if s.cfg.opts&mimeOptReport8bitInHeader != 0 && s.errFlags&mimeErr8bitInHeader == 0 && has8bit(s.hdr) {
		s.report(mimeErr8bitInHeader, s.hdr)
	}
	class := s.state
	if s.hdrKind != hdrOther {
		class = mimeMultipart
	}
	s.headerOut(class)
	s.hdr = s.hdr[:0]
	s.held = s.held[:0]
}

// value returns the pending header's text after the colon.
func (s *ContentScan) value() []byte {
	return s.hdr[bytes.IndexByte(s.hdr, ':')+1:]
}

// contentType is mime_state_content_type.
func (s *ContentScan) contentType() {
	cp := s.value()
	var n int
	n, cp = headerTokens(s.toks[:], &s.tokBuf, cp, rfc2045TSpecials, ';')
	if n <= 0 {
		s.ctype = ctypeOther
		return
	}
	t := s.toks[:n]
	subtype := func(word string) bool { return n >= 3 && t[1].typ == '/' && tokenIs(t[2], word) }
	switch {
	case tokenIs(t[0], "text"):
		s.ctype, s.stype = ctypeText, stypeOther
		if subtype("plain") {
			s.stype = stypePlain
		}
	case tokenIs(t[0], "message"):
		s.ctype, s.stype = ctypeMessage, stypeOther
		switch {
		case subtype("rfc822"):
			s.stype = stypeRFC822
		case subtype("partial"):
			s.stype = stypePartial
		case subtype("external-body"):
			s.stype = stypeExternBody
		case subtype("global"):
			s.stype = stypeGlobal
		}
	case tokenIs(t[0], "multipart"):
		s.ctype = ctypeMultipart
		defCtype, defStype := ctypeText, stypePlain
		if subtype("digest") {
			defCtype, defStype = ctypeMessage, stypeRFC822
		}
		// Every boundary parameter counts, as in Postfix.
		for {
			n, cp = headerTokens(s.toks[:], &s.tokBuf, cp, rfc2045TSpecials, ';')
			if n < 0 {
				break
			}
			if n < 3 || !tokenIs(s.toks[0], "boundary") || s.toks[1].typ != '=' {
				continue
			}
			// Postfix's nesting level starts at -1.
			if len(s.stack)-1 > s.cfg.maxDepth {
				if s.cfg.opts&mimeOptReportNesting != 0 {
					s.report(mimeErrNesting, s.hdr)
				}
				continue
			}
			b := s.toks[2].val
			if len(b) > s.cfg.boundLimit {
				b = b[:s.cfg.boundLimit]
			}
			s.stack = append(s.stack, mimeBoundary{defCtype, defStype, append([]byte(nil), b...)})
		}
	}
}

// contentEncoding is mime_state_content_encoding.
func (s *ContentScan) contentEncoding() {
	n, _ := headerTokens(s.toks[:1], &s.tokBuf, s.value(), lex822Specials, 0)
	if n <= 0 || s.toks[0].typ != tokToken {
		return
	}
	for _, e := range mimeEncodings {
		if strings.EqualFold(string(s.toks[0].val), e.name) {
			s.encoding, s.domain = e.encoding, e.domain
			return
		}
	}
}
