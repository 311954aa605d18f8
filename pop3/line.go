package pop3

import (
	"bufio"
	"bytes"
	"errors"
)

// readLine reads one line ending in LF (CRLF or a bare LF) and returns it
// without the line ending. A line longer than max bytes (line ending
// included) is read to its end and discarded, and errLineTooLong is
// returned, so the session can answer and carry on with the next line.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max {
				tooLong = true
				buf = nil
			} else if buf == nil && err == nil {
				// Common case: the whole line is in the reader's buffer.
				return trimEOL(chunk), nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, errLineTooLong
			}
			return trimEOL(buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
