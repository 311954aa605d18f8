package imapmsg

import (
	"io"
	"time"
)

func (m *Message) binary(r io.ReaderAt, part []int, partial *Partial) (io.Reader, int64, bool, error) {
	return nil, 0, false, ErrUnknownCTE
}
func (m *Message) binarySize(r io.ReaderAt, part []int) (int64, bool, error) {
	return 0, false, ErrUnknownCTE
}
func matchHeader(h Header, field, substr string) bool                   { return false }
func matchAnyHeader(h Header, substr string) bool                       { return false }
func (m *Message) matchBody(r io.ReaderAt, substr string) (bool, error) { return false, nil }
func parseDate(v string) (time.Time, bool)                              { return time.Time{}, false }
