package msgauth

import "bufio"

// ReadHeader reads a message's header section from br, up to and
// including the empty line that ends it, within maxBytes; the body stays
// in br. It is how a caller splits a message to put new fields (a
// DKIM-Signature, an Authentication-Results) before the header and strip
// others ([StripAuthResults]).
func ReadHeader(br *bufio.Reader, maxBytes int) ([]byte, error) {
	raw, _, err := readHeader(br, maxBytes, maxBytes/2+1)
	return raw, err
}
