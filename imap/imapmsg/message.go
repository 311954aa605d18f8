package imapmsg

import "sync"

// Message is the parsed structure of one stored message. It holds no
// reader; methods that need body bytes take the message's io.ReaderAt.
type Message struct {
	// Size is the message's size in the CRLF view (RFC822.SIZE).
	Size int64
	// RawSize is the stored size Parse was given.
	RawSize int64
	// Root is the message itself: its Header is the top-level header and
	// its body is the whole body.
	Root *Part

	checkpoints []checkpoint // CRLF offset -> raw offset, ascending
	mem         int64        // approximate bytes held, for Cache
}

// checkpoint maps a line start in the CRLF view to the stored offset.
type checkpoint struct {
	crlf, raw int64
}

// Part is one MIME entity. Offsets are from the start of the message in
// the CRLF view.
type Part struct {
	// HeaderOffset and HeaderSize locate the part's header, including
	// the blank line that ends it (HEADER / MIME sections).
	HeaderOffset, HeaderSize int64
	// BodyOffset and BodySize locate the part's body (TEXT section and
	// the size BODYSTRUCTURE reports).
	BodyOffset, BodySize int64
	// Lines is the number of lines in the body, as BODYSTRUCTURE reports
	// for text/* and message/rfc822 parts.
	Lines int64

	// Type and Subtype are the media type as written (compare them
	// case-insensitively); "text"/"plain" when the part has no
	// Content-Type, "message"/"rfc822" for an untyped part of a
	// multipart/digest. A Content-Type without "/" gives its first token
	// and an empty Subtype, as Dovecot reports it.
	Type, Subtype string
	// Params are the Content-Type parameters: plain ones in header order
	// with their names as written, then RFC 2231 ones (name*0, name*1*,
	// ...) joined and sorted by name, as Dovecot lists them. A missing
	// charset of a text part is not added here (the writers add
	// "us-ascii" as Dovecot does).
	Params []Param
	// ID, Description, Encoding, MD5 and Location are the raw values of
	// Content-ID, Content-Description, Content-Transfer-Encoding (as
	// written), Content-MD5 and Content-Location; "" when absent.
	ID, Description, Encoding, MD5, Location string
	// Disposition is the Content-Disposition value ("inline",
	// "attachment"), "" when absent, with its parameters.
	Disposition       string
	DispositionParams []Param
	// Language lists the Content-Language tags.
	Language []string

	// Header is the part's header, kept for the message itself and for
	// the message inside a message/rfc822 part (nil otherwise: a
	// multipart child's MIME header is read again when asked for).
	Header Header

	// Children are the parts of a multipart.
	Children []*Part
	// Message is the encapsulated message of a message/rfc822 (or
	// message/global) part: its Header is the inner message's header.
	Message *Part

	binMu   sync.Mutex
	binSize int64 // cached decoded size + 1; 0 = unknown
	binNUL  bool
}

// Param is one MIME parameter. Name is lower-cased; Value is unquoted and,
// for RFC 2231 parameters, still in its encoded form joined from its
// continuations (as Dovecot reports it).
type Param struct {
	Name, Value string
}

// Param returns the value of the Content-Type parameter name
// (case-insensitive) and whether it is present.
func (p *Part) Param(name string) (string, bool) {
	return findParam(p.Params, name)
}

// IsMultipart reports whether p is a multipart/* part with children.
func (p *Part) IsMultipart() bool { return equalFoldASCII(p.Type, "multipart") }

// IsMessage reports whether p encapsulates a message (message/rfc822 or
// message/global), in which case p.Message is set.
func (p *Part) IsMessage() bool { return p.Message != nil }

func findParam(ps []Param, name string) (string, bool) {
	for _, p := range ps {
		if equalFoldASCII(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// Find returns the part with the IMAP part numbers path (1-based), or nil.
// An empty path is the message itself. Numbering follows Dovecot: part 1
// of a message that is not a multipart is the message itself (its body
// for BODY[1]), part 1 of a non-multipart child is that child again, and
// numbers after a message/rfc822 part address the message it carries.
func (m *Message) Find(path []int) *Part {
	return findPart(m.Root, path)
}

func findPart(p *Part, path []int) *Part {
	const (
		atMessage   = iota // p is a message whose parts are not yet entered
		usedMessage        // p is a single-part message taken as its part 1
		atChild            // p is a child of a multipart
	)
	state := atMessage
	for _, n := range path {
		if n <= 0 {
			return nil
		}
		if state != atMessage && p.Message != nil {
			p, state = p.Message, atMessage
		}
		switch {
		case p.IsMultipart():
			if n > len(p.Children) {
				return nil
			}
			p, state = p.Children[n-1], atChild
		case n != 1:
			return nil
		case state == atMessage:
			state = usedMessage
		case state == usedMessage:
			return nil
		}
	}
	return p
}
