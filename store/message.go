package store

import "time"

// MessageInfo is what a store keeps about one message.
type MessageInfo struct {
	UID    uint32
	Flags  Flags
	ModSeq uint64 // CONDSTORE modification sequence, > 0
	// InternalDate is IMAP's INTERNALDATE (the time of delivery or the
	// date given to APPEND).
	InternalDate time.Time
	// SaveDate is when the message was saved into this mailbox (RFC 8514).
	SaveDate time.Time
	// Size is the RFC822.SIZE: the size with every bare LF counted as
	// CRLF, which is what IMAP, POP3 and the wire see.
	Size int64
	// GUID identifies the message's content across mailboxes (OBJECTID
	// EMAILID, POP3 %g). For Maildir it is the base file name, as Dovecot
	// reports it.
	GUID string
	// FileName is the format's name for the message where it has one
	// (Maildir's base file name, POP3 %f), else "".
	FileName string
	// Recent reports whether this handle is the first to see the message
	// (IMAP4rev1 \Recent); formats that do not track it leave it false.
	Recent bool
}

// SystemFlags is the set of IMAP system flags a message carries.
type SystemFlags uint8

// The IMAP system flags (RFC 9051 2.3.2).
const (
	Seen SystemFlags = 1 << iota
	Answered
	Flagged
	Deleted
	Draft
)

// systemFlagNames are in IMAP's conventional order.
var systemFlagNames = []struct {
	f    SystemFlags
	name string
}{
	{Answered, `\Answered`}, {Flagged, `\Flagged`}, {Deleted, `\Deleted`}, {Seen, `\Seen`}, {Draft, `\Draft`},
}

// Names returns the IMAP names of the flags in s, e.g. [`\Seen`].
func (s SystemFlags) Names() []string {
	var out []string
	for _, n := range systemFlagNames {
		if s&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// ParseSystemFlag returns the system flag named by an IMAP flag name
// (case-insensitive, with the backslash), and false for anything else.
func ParseSystemFlag(name string) (SystemFlags, bool) {
	for _, n := range systemFlagNames {
		if equalFold(name, n.name) {
			return n.f, true
		}
	}
	return 0, false
}

// Flags are a message's system flags and keywords. Keywords are IMAP atoms
// such as "$Important" or "NonJunk", kept in the case they were first
// stored, compared case-insensitively, without duplicates.
type Flags struct {
	System   SystemFlags
	Keywords []string
}

// Has reports whether f carries the keyword kw (case-insensitive).
func (f Flags) Has(kw string) bool {
	for _, k := range f.Keywords {
		if equalFold(k, kw) {
			return true
		}
	}
	return false
}

// Apply returns the result of op with other applied to f. The result
// shares no slice with f or other.
func (f Flags) Apply(op FlagOp, other Flags) Flags {
	switch op {
	case FlagsReplace:
		return Flags{System: other.System, Keywords: dedupKeywords(nil, other.Keywords)}
	case FlagsAdd:
		return Flags{System: f.System | other.System, Keywords: dedupKeywords(dedupKeywords(nil, f.Keywords), other.Keywords)}
	case FlagsRemove:
		out := Flags{System: f.System &^ other.System}
		for _, k := range f.Keywords {
			if !other.Has(k) {
				out.Keywords = append(out.Keywords, k)
			}
		}
		return out
	}
	return f
}

// Equal reports whether f and other carry the same flags and keywords
// (keyword order and case ignored).
func (f Flags) Equal(other Flags) bool {
	if f.System != other.System || len(f.Keywords) != len(other.Keywords) {
		return false
	}
	for _, k := range f.Keywords {
		if !other.Has(k) {
			return false
		}
	}
	return true
}

func dedupKeywords(dst, add []string) []string {
	for _, k := range add {
		if !(Flags{Keywords: dst}).Has(k) {
			dst = append(dst, k)
		}
	}
	return dst
}

// equalFold is ASCII-only case folding, as IMAP flag comparison is.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
