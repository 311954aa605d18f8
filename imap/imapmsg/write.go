package imapmsg

import (
	"bufio"
	"io"
)

// WriteEnvelope writes the message's ENVELOPE list, e.g.
// ("Mon, 1 Jan 2024 ..." "subject" (("Name" NIL "a" "example.org")) ...),
// without the "ENVELOPE " prefix.
func (m *Message) WriteEnvelope(w io.Writer) error {
	bw := newWireWriter(w)
	bw.envelope(m.Envelope())
	return bw.Flush()
}

// WriteBodyStructure writes the message's BODY (extended false) or
// BODYSTRUCTURE (extended true) list, without the item name.
func (m *Message) WriteBodyStructure(w io.Writer, extended bool) error {
	bw := newWireWriter(w)
	bw.body(m.Root, extended)
	return bw.Flush()
}

// wireWriter writes IMAP syntax; the first write error sticks in Flush.
type wireWriter struct {
	*bufio.Writer
}

func newWireWriter(w io.Writer) *wireWriter {
	if bw, ok := w.(*bufio.Writer); ok {
		return &wireWriter{bw}
	}
	return &wireWriter{bufio.NewWriterSize(w, 1024)}
}
