package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineLength is the default limit of a command line, CRLF
// included (RFC 5321 4.5.3.1.4 allows text lines of 1000 octets; command
// lines are shorter still, but AUTH initial responses need the room).
const DefaultMaxLineLength = 1000

// Errors of the line and data readers.
var (
	// ErrLineTooLong is returned for a command line over the limit; the
	// rest of the line has been read and discarded.
	ErrLineTooLong = errors.New("smtpwire: line too long")
	// ErrBareLF is returned by a DataReader in BareLFReject mode.
	ErrBareLF = errors.New("smtpwire: bare LF in data")
	// ErrTooBig is returned by a DataReader once MaxSize is exceeded.
	ErrTooBig = errors.New("smtpwire: message exceeds size limit")
)

// ReadLine reads one line from r and returns it without its line ending
// (CRLF, or a bare LF, which Postfix accepts in commands too). A line
// longer than max bytes (line ending included; max <= 0 means
// DefaultMaxLineLength) is consumed up to its end and reported as
// ErrLineTooLong. At EOF before a line ending it returns
// io.ErrUnexpectedEOF (or io.EOF when nothing was read).
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxLineLength
	}
	var line []byte
	tooLong := false
	for {
		frag, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > max {
				tooLong = true
				line = nil
			} else {
				line = append(line, frag...)
			}
		}
		switch err {
		case nil:
			if tooLong {
				return nil, ErrLineTooLong
			}
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return line, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) == 0 && !tooLong {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
