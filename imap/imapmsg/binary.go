package imapmsg

import "io"

// Binary returns the content of BINARY[part]<partial> (RFC 3516): the
// part's body with its Content-Transfer-Encoding (base64,
// quoted-printable) removed, its exact length, and whether it contains a
// NUL byte (the server must then send a literal8). An empty path is the
// whole message, sent as is. 7bit, 8bit, binary and absent encodings are
// identity; any other gives ErrUnknownCTE.
func (m *Message) Binary(r io.ReaderAt, part []int, partial *Partial) (rd io.Reader, size int64, hasNUL bool, err error) {
	return m.binary(r, part, partial)
}

// BinarySize returns BINARY.SIZE[part]: the decoded size of the part.
func (m *Message) BinarySize(r io.ReaderAt, part []int) (int64, error) {
	n, _, err := m.binarySize(r, part)
	return n, err
}
