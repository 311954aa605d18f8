package imapmsg

import (
	"io"
	"time"
)

func matchHeader(h Header, field, substr string) bool                   { return false }
func matchAnyHeader(h Header, substr string) bool                       { return false }
func (m *Message) matchBody(r io.ReaderAt, substr string) (bool, error) { return false, nil }
func parseDate(v string) (time.Time, bool)                              { return time.Time{}, false }
