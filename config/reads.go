package config

import (
	"sort"
	"sync"
)

// ReadLog records which parameters a program read through a [Config], and
// in which service's view. A program builds its servers from a view made
// with [Config.WithReadLog] and then asks the log which settings nothing
// read: "fullserver check" warns about those ("unused parameter", as
// postconf does), and a test can demand that every declared parameter is
// read by something. It is safe for concurrent use.
type ReadLog struct {
	mu    sync.Mutex
	reads map[readKey]bool
	names map[string]bool // read in any view
}

type readKey struct{ service, name string }

// NewReadLog returns an empty log.
func NewReadLog() *ReadLog { return &ReadLog{reads: map[readKey]bool{}, names: map[string]bool{}} }

func (l *ReadLog) add(service, name string) {
	l.mu.Lock()
	l.reads[readKey{service, name}] = true
	l.names[name] = true
	l.mu.Unlock()
}

// WithReadLog returns a view of c that records in l every parameter whose
// value it gives out: through Get, Raw, Expand, Bool, Int, Duration, List,
// Contents, FileOf and IsSet, and every parameter a value refers to as
// $name while it is expanded. Service views made from it record too,
// under their service's name. A nil l gives a view that records nothing,
// for handing values to a library that reads them itself (and that the
// program then marks with [Config.MarkRead]).
func (c *Config) WithReadLog(l *ReadLog) *Config {
	v := *c
	v.log = l
	return &v
}

// MarkRead records names as read in this view without reading them: for
// parameters that the program hands to a library which reads them itself
// (restrict's Postfix parameters). It does nothing without a log.
func (c *Config) MarkRead(names ...string) {
	for _, n := range names {
		c.note(n)
	}
}

// note records that name was read in this view.
func (c *Config) note(name string) {
	if c.log != nil {
		c.log.add(c.service, name)
	}
}

// Read reports whether name was read in any view.
func (l *ReadLog) Read(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names[name]
}

// ReadIn reports whether name was read in the view of service ("" for the
// global view).
func (l *ReadLog) ReadIn(service, name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads[readKey{service, name}]
}

// Names returns the parameters read in any view, sorted.
func (l *ReadLog) Names() []string {
	l.mu.Lock()
	out := make([]string, 0, len(l.names))
	for n := range l.names {
		out = append(out, n)
	}
	l.mu.Unlock()
	sort.Strings(out)
	return out
}

// Unused returns the settings of c's file that have no effect, in file
// order: those of parameters the schema marks [Param.Compat], global
// settings that no view read, and "service/name" overrides that the
// service's own view did not read (an override for a service that never
// looks at the parameter). Call it after the program built everything
// from c.WithReadLog(l).
func (l *ReadLog) Unused(c *Config) []Setting {
	var out []Setting
	for _, st := range c.global {
		if c.compat(st.Name) || !l.Read(st.Name) {
			out = append(out, st)
		}
	}
	for svc, m := range c.services {
		for _, st := range m {
			if c.compat(st.Name) || !l.ReadIn(svc, st.Name) {
				out = append(out, st)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return out[i].Key() < out[j].Key()
	})
	return out
}

// compat reports whether name is a declared parameter marked Compat.
func (c *Config) compat(name string) bool {
	p, ok := c.schema.params[name]
	return ok && p.Compat
}
