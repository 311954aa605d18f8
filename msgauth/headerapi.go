package msgauth

import (
	"bufio"
	"bytes"
)

// ReadHeader reads a message's header section from br, up to and
// including the empty line that ends it, within maxBytes; the body stays
// in br. It is how a caller splits a message to put new fields (a
// DKIM-Signature, an Authentication-Results) before the header and strip
// others ([StripAuthResults]).
func ReadHeader(br *bufio.Reader, maxBytes int) ([]byte, error) {
	var raw bytes.Buffer
	raw.Grow(2048)
	if _, err := scanHeader(br, maxBytes, maxBytes/2+1, &raw, false); err != nil {
		return nil, err
	}
	return raw.Bytes(), nil
}
