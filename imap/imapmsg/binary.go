package imapmsg

import "io"

// Binary returns the content of BINARY[part]<partial> (RFC 3516), its
// exact length, and whether the whole section contains a NUL byte (the
// server must then send a literal8, ~{n}). For a leaf part it is the body
// with its Content-Transfer-Encoding (base64, quoted-printable) removed;
// 7bit, 8bit, binary and absent encodings are identity and any other
// gives ErrUnknownCTE. For the whole message (empty path), a
// message/rfc822 or a multipart part it is the content with every
// encoded leaf decoded and its header's Content-Transfer-Encoding
// replaced by "binary", as Dovecot converts it. A part that does not
// exist gives an empty section.
func (m *Message) Binary(r io.ReaderAt, part []int, partial *Partial) (rd io.Reader, size int64, hasNUL bool, err error) {
	return m.binary(r, part, partial)
}

// BinarySize returns BINARY.SIZE[part]: the decoded size of the part.
func (m *Message) BinarySize(r io.ReaderAt, part []int) (int64, error) {
	n, _, err := m.binarySize(r, part)
	return n, err
}
