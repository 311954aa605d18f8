package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Config is a checked configuration: the settings of one file on top of a
// schema's defaults, seen globally or by one service. It is immutable and
// safe for concurrent use.
type Config struct {
	schema   *Schema
	global   map[string]Setting
	services map[string]map[string]Setting
	service  string          // "" for the global view
	log      *ReadLog        // nil: reads are not recorded
	defined  map[string]bool // names a Defines parameter lists
}

func (c *Config) set(st Setting) {
	if st.Service == "" {
		c.global[st.Name] = st
		return
	}
	m := c.services[st.Service]
	if m == nil {
		m = map[string]Setting{}
		c.services[st.Service] = m
	}
	m[st.Name] = st
}

// Service returns the view of the configuration that the named service
// sees: its "service/name" overrides on top of the global settings. $name
// references inside it resolve in the same view, as in Postfix.
func (c *Config) Service(name string) *Config {
	v := *c
	v.service = name
	return &v
}

// ServiceName returns the service this view is for, or "".
func (c *Config) ServiceName() string { return c.service }

// Schema returns the schema the configuration was checked against.
func (c *Config) Schema() *Schema { return c.schema }

// raw returns the unexpanded value of name in this view and where it was
// set (the zero Pos for a default).
func (c *Config) raw(name string) (string, Pos, bool) {
	if c.service != "" {
		if st, ok := c.services[c.service][name]; ok {
			return st.Value, st.Pos, true
		}
		if v, ok := c.schema.svcDefs[c.service][name]; ok {
			return v, Pos{}, true
		}
	}
	if st, ok := c.global[name]; ok {
		return st.Value, st.Pos, true
	}
	if p, ok := c.schema.params[name]; ok {
		return p.Default, Pos{}, true
	}
	if k, ok := c.schema.knownName(name); ok {
		return k.def, Pos{}, true
	}
	return "", Pos{}, false
}

// Raw returns the value of name as written (or its default), unexpanded.
func (c *Config) Raw(name string) string {
	c.note(name)
	v, _, _ := c.raw(name)
	return v
}

// Pos returns where name was set in this view, or the zero Pos when it has
// its default value.
func (c *Config) Pos(name string) Pos {
	_, p, _ := c.raw(name)
	return p
}

// IsSet reports whether name was set in the file (or by the program)
// rather than left at its default (or the service's default).
func (c *Config) IsSet(name string) bool {
	c.note(name)
	if c.service != "" {
		if _, ok := c.services[c.service][name]; ok {
			return true
		}
	}
	_, ok := c.global[name]
	return ok
}

// Get returns the expanded value of name. Parameters the schema does not
// know, and expansion errors (already reported by Load), give "".
func (c *Config) Get(name string) string {
	v, err := c.Expand(name)
	if err != nil {
		return ""
	}
	return v
}

// Expand returns the expanded value of name, or an error for an unknown
// parameter, a reference to an unknown parameter or a reference loop.
func (c *Config) Expand(name string) (string, error) {
	c.note(name)
	v, _, ok := c.raw(name)
	if !ok {
		return "", fmt.Errorf("unknown parameter %q", name)
	}
	return c.expand(v, 0)
}

// Bool returns the boolean value of name (false when it does not parse).
func (c *Config) Bool(name string) bool {
	b, _ := ParseBool(c.Get(name))
	return b
}

// Int returns the integer value of name (0 when it does not parse).
func (c *Config) Int(name string) int64 {
	n, _ := ParseInt(c.Get(name))
	return n
}

// Duration returns the time value of name (0 when it does not parse).
func (c *Config) Duration(name string) time.Duration {
	d, _ := ParseDuration(c.Get(name))
	return d
}

// List returns the items of name split at commas and white space.
func (c *Config) List(name string) []string { return SplitList(c.Get(name)) }

// Contents returns what name stands for as data: for a value in Dovecot's
// "<file" form the contents of that file, otherwise the value itself.
func (c *Config) Contents(name string) ([]byte, error) {
	v := c.Get(name)
	if path, ok := strings.CutPrefix(v, "<"); ok {
		path = strings.TrimSpace(path)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	return []byte(v), nil
}

// FileOf returns the path named by a "<file" value of name, or "" when the
// value is not in that form.
func (c *Config) FileOf(name string) string {
	if path, ok := strings.CutPrefix(c.Get(name), "<"); ok {
		return strings.TrimSpace(path)
	}
	return ""
}

// Defined returns the names of the parameters that the file defines
// itself, through a parameter marked [Param.Defines], sorted. The ones
// the file sets have values like any other parameter.
func (c *Config) Defined() []string {
	out := make([]string, 0, len(c.defined))
	for n := range c.defined {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NonDefault returns the settings whose value differs from the default,
// global ones first, each group sorted by name, the way "postconf -n"
// lists them. Service overrides come with Service set.
func (c *Config) NonDefault() []Setting {
	var out []Setting
	for name, st := range c.global {
		if p, ok := c.schema.params[name]; ok && st.Value == p.Default {
			continue
		}
		if k, ok := c.schema.knownName(name); ok && st.Value == k.def {
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	var svc []Setting
	for _, m := range c.services {
		for _, st := range m {
			svc = append(svc, st)
		}
	}
	sort.Slice(svc, func(i, j int) bool { return svc[i].Key() < svc[j].Key() })
	return append(out, svc...)
}

// validate expands and checks every set value, in every view it is used
// in, and returns the problems.
func (c *Config) validate() ErrorList {
	var errs ErrorList
	check := func(v *Config, name string, pos Pos) {
		p := c.schema.params[name]
		if p.Runtime {
			return
		}
		val, err := v.Expand(name)
		if err != nil {
			// A default that refers to something unknown is the
			// program's business, not the file's.
			if pos != (Pos{}) {
				errs = append(errs, &Error{pos, fmt.Sprintf("%s: %v", name, err)})
			}
			return
		}
		if err := checkKind(p.Kind, val); err != nil {
			errs = append(errs, &Error{pos, fmt.Sprintf("%s = %s: %v", name, truncate(val), err)})
			return
		}
		if p.Check != nil {
			if err := p.Check(val); err != nil {
				errs = append(errs, &Error{pos, fmt.Sprintf("%s = %s: %v", name, truncate(val), err)})
			}
		}
	}
	// Every parameter is checked globally (defaults too: a default may
	// refer to a parameter the file set badly), then each service's view
	// of every parameter that an override could change.
	for _, name := range c.schema.names {
		check(c, name, c.Pos(name))
	}
	for _, svc := range c.schema.services {
		v := c.Service(svc)
		for _, name := range c.schema.names {
			if v.Raw(name) != c.Raw(name) || v.IsSet(name) || strings.Contains(v.Raw(name), "$") {
				check(v, name, v.Pos(name))
			}
		}
	}
	return dedupe(errs)
}

// dedupe drops repeated identical errors (a bad global value seen again
// through each service's view).
func dedupe(errs ErrorList) ErrorList {
	seen := map[string]bool{}
	out := errs[:0]
	for _, e := range errs {
		k := e.Error()
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
