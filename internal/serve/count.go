package serve

import "io"

// CountReader counts the bytes read through it, for a session's
// statistics (Dovecot's in= of a logout line). It is not safe for
// concurrent use, as a session's reader is not.
type CountReader struct {
	R io.Reader
	N int64
	// Err is the first error R returned (io.EOF included): a session
	// tells by it that an error came from the connection, not from the
	// mailbox store.
	Err error
}

func (c *CountReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	if err != nil && c.Err == nil {
		c.Err = err
	}
	return n, err
}

// CountWriter counts the bytes written through it (Dovecot's out=, and
// POP3's retr/top byte counts).
type CountWriter struct {
	W io.Writer
	N int64
}

func (c *CountWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
