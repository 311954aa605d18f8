package main

import (
	"sync/atomic"
	"time"
)

// stampCache keeps the last time stamp a maillogHandler formatted
// ("Dec  8 01:43:10", time.Stamp): the lines of one second share it, and
// formatting a time in its zone was a tenth of the CPU a delivery spent
// outside system calls.
type stampCache struct {
	last atomic.Pointer[stamp]
}

type stamp struct {
	sec int64
	loc *time.Location
	b   []byte
}

// append appends t formatted as time.Stamp to b.
func (c *stampCache) append(b []byte, t time.Time) []byte {
	if c == nil {
		return t.AppendFormat(b, time.Stamp)
	}
	sec, loc := t.Unix(), t.Location()
	if s := c.last.Load(); s != nil && s.sec == sec && s.loc == loc {
		return append(b, s.b...)
	}
	s := &stamp{sec: sec, loc: loc, b: t.AppendFormat(nil, time.Stamp)}
	c.last.Store(s)
	return append(b, s.b...)
}
