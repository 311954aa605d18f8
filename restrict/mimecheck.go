package restrict

import (
	"bytes"
	"strings"
)

// This file holds the ContentScan's output routines: cleanup(8)'s
// header and body callbacks, which apply the checks and pass text on.

// headerOut applies the header checks of class to the pending header and
// passes it on, edited.
func (s *ContentScan) headerOut(class int) {
	var m *maps
	if s.filterOK && s.err == nil {
		switch class {
		case mimePrimary:
			m = s.p.headerChecks
		case mimeMultipart:
			m = s.p.mimeHeaderChecks
		case mimeNested:
			m = s.p.nestedHeaderChecks
		}
	}
	if m == nil {
		s.emit(s.held, false)
		return
	}
	line := string(s.hdr)
	v, ok, err := m.find(s.ctx, line, false)
	if err != nil {
		s.fail(err)
		return
	}
	if !ok {
		s.emit(s.held, false)
		return
	}
	var d Decision
	s.act(&d, v, "header", line, 0, headerMapNames[class])
	for _, l := range d.Prepend {
		s.emitLine(l)
	}
	if len(d.HeaderEdits) > 0 {
		if e := d.HeaderEdits[0]; !e.Delete {
			s.emitLine(e.Replace)
		}
		return
	}
	s.emit(s.held, false)
}

// bodyOut applies body_checks to one body record at the current body
// offset and passes it on; synthetic is the empty line cleanup inserts
// between the primary header and a body that starts without one.
func (s *ContentScan) bodyOut(text []byte, synthetic bool) {
	off := s.bodyOffset
	s.bodyOffset += len(text) + 1
	raw := s.cur
	if synthetic {
		raw = crlf
	}
	if !s.filterOK || s.err != nil || s.p.bodyChecks == nil || (s.cfg.bodyLimit > 0 && off >= s.cfg.bodyLimit) {
		s.emit(raw, !synthetic && s.curStable)
		return
	}
	line := string(text)
	v, ok, err := s.p.bodyChecks.find(s.ctx, line, false)
	if err != nil {
		s.fail(err)
		return
	}
	if ok {
		var d Decision
		s.act(&d, v, "body", line, -1, "body_checks")
		for _, l := range d.Prepend {
			s.emitLine(l)
		}
		// As cleanup's body callback: IGNORE and STRIP drop the line,
		// REPLACE replaces it (a piece of a long line stays a piece).
		cmd := firstWord(v)
		switch strings.ToUpper(cmd) {
		case "IGNORE", "STRIP":
			return
		case "REPLACE":
			if text := strings.TrimLeft(v[len(cmd):], " \t"); text != "" {
				end := raw[len(raw)-len(lineEnd(raw)):]
				s.emit(append(noBreaks(text), end...), false)
				return
			}
		}
	}
	s.emit(raw, !synthetic && s.curStable)
}

// lineEnd returns the CRLF or LF that ends raw, if any.
func lineEnd(raw []byte) []byte {
	switch {
	case bytes.HasSuffix(raw, crlf):
		return crlf
	case bytes.HasSuffix(raw, []byte{'\n'}):
		return raw[len(raw)-1:]
	}
	return nil
}

var crlf = []byte("\r\n")

// headerMapNames name the header checks of each header class, for
// Decision.Restriction.
var headerMapNames = [...]string{mimePrimary: "header_checks", mimeMultipart: "mime_header_checks", mimeNested: "nested_header_checks"}

// emitLine queues one added line, line breaks in it made spaces.
func (s *ContentScan) emitLine(l string) {
	s.emit(append(noBreaks(l), crlf...), false)
}

// noBreaks returns l with CR and LF made spaces.
func noBreaks(l string) []byte {
	b := make([]byte, 0, len(l)+2)
	for i := 0; i < len(l); i++ {
		if c := l[i]; c == '\r' || c == '\n' {
			b = append(b, ' ')
		} else {
			b = append(b, c)
		}
	}
	return b
}

// act applies one check result and merges it into the call's decision.
// REJECT, DISCARD and REDIRECT turn further checks off, as cleanup's
// CLEANUP_FLAG_FILTER_ALL.
func (s *ContentScan) act(d *Decision, value, what, line string, index int, mapName string) {
	stop := s.p.contentAction(d, value, what, line, index)
	if d.Action != Dunno {
		s.dec.Restriction = mapName
	}
	s.dec.Warnings = append(s.dec.Warnings, d.Warnings...)
	if d.Filter != "" {
		s.dec.Filter = d.Filter
	}
	if d.Redirect != "" {
		s.dec.Redirect = d.Redirect
		s.filterOK = false
	}
	switch d.Action {
	case Hold:
		if s.dec.Action == Dunno {
			s.dec.Action = Hold
		}
	case Reject, Defer, Discard:
		s.dec.Action, s.dec.Code, s.dec.Enhanced, s.dec.Text = d.Action, d.Code, d.Enhanced, d.Text
		s.rejected = d.Action != Discard
		s.filterOK = false
	}
	if stop {
		s.stop = true
	}
	if strings.EqualFold(firstWord(value), "PASS") {
		s.filterOK = false
	}
}

func firstWord(v string) string {
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		return v[:i]
	}
	return v
}

// fail ends the inspection after a lookup error, as cleanup does
// ("map lookup problem -- message not accepted, try again later").
func (s *ContentScan) fail(err error) {
	s.err = err
	s.stop = true
	s.dec.Action, s.dec.Code, s.dec.Enhanced, s.dec.Text = Defer, 451, "4.3.0", "Temporary lookup failure"
}
