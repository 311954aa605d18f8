package imapmsg

import "io"

// Specifier is the text part of a FETCH section: "" (the whole part),
// HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME.
type Specifier string

// The section specifiers of RFC 9051 6.4.5.
const (
	SpecNone            Specifier = ""
	SpecHeader          Specifier = "HEADER"
	SpecHeaderFields    Specifier = "HEADER.FIELDS"
	SpecHeaderFieldsNot Specifier = "HEADER.FIELDS.NOT"
	SpecText            Specifier = "TEXT"
	SpecMIME            Specifier = "MIME"
)

// SectionSpec is a parsed FETCH section, the text between the brackets
// of BODY[...] or BINARY[...].
type SectionSpec struct {
	// Part is the part path ("1.2" is [1 2]); empty for the message.
	Part []int
	// Specifier selects header, text or MIME header of the part.
	Specifier Specifier
	// Fields are the field names of HEADER.FIELDS[.NOT], as sent.
	Fields []string
}

// Partial is a FETCH <offset.count> range. Count < 0 means "to the end"
// (no count given, as in BINARY<offset> is not allowed but a server may
// use it internally).
type Partial struct {
	Offset, Count int64
}

// Section limits.
const (
	// MaxSectionParts is the deepest part path ParseSectionSpec accepts.
	MaxSectionParts = 64
	// MaxSectionFields is the most HEADER.FIELDS names accepted.
	MaxSectionFields = 1000
)

// ParseSectionSpec parses the text between the brackets of a FETCH
// BODY[...], BODY.PEEK[...], BINARY[...] or BINARY.SIZE[...] item, e.g.
// "", "1.2", "HEADER.FIELDS (From To)", "3.MIME". Specifiers are
// case-insensitive. Malformed input returns ErrBadSection.
func ParseSectionSpec(s string) (SectionSpec, error) {
	return parseSectionSpec(s)
}

// String returns the canonical form of s for the FETCH response, e.g.
// "1.HEADER.FIELDS (FROM TO)" (field names upper-cased as Dovecot
// echoes them).
func (s SectionSpec) String() string {
	return s.format()
}

// Section returns the bytes of BODY[spec]<partial> in the CRLF view and
// their exact length; r is the message's reader (the one Parse read).
// partial may be nil. A part that does not exist, HEADER or TEXT of a
// part that is not a message/rfc822, and an offset past the end give an
// empty section (as Dovecot answers them: BODY[9] {0}); errors are read
// errors only.
func (m *Message) Section(r io.ReaderAt, spec SectionSpec, partial *Partial) (io.Reader, int64, error) {
	return m.section(r, spec, partial)
}
