package config

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// Kind says how a parameter's value is read and checked.
type Kind int

// The kinds of parameter values.
const (
	// String is any text.
	String Kind = iota
	// Bool is yes/no (also true/false), as Postfix and Dovecot write it.
	Bool
	// Int is a decimal integer (sizes in bytes, counts, limits).
	Int
	// Duration is a Postfix time value: a number with an optional unit
	// s, m, h, d or w (seconds when none).
	Duration
	// List is a list of items separated by commas and/or white space.
	List
)

func (k Kind) String() string {
	switch k {
	case Bool:
		return "boolean"
	case Int:
		return "integer"
	case Duration:
		return "time"
	case List:
		return "list"
	}
	return "string"
}

// Param declares one known parameter.
type Param struct {
	Name    string
	Default string // unexpanded, may refer to other parameters
	Kind    Kind
	// Check, when set, validates the expanded value further (an address,
	// a mail_location, a CIDR list); its error text is reported with the
	// setting's file:line.
	Check func(value string) error
	// Doc is one line saying what the parameter is for.
	Doc string
	// Runtime marks a name that is filled in later by the program, not
	// set in the file (Postfix's $rbl_code in default_rbl_reply): a
	// reference to it is left in the value unexpanded, and setting it in
	// the file is an error.
	Runtime bool
	// Compat marks a parameter that is accepted so that existing
	// main.cf and dovecot.conf files load, but that has no effect in
	// this program; Doc says why. [ReadLog.Unused] reports every
	// setting of one, so that a check can warn instead of saying OK.
	Compat bool
	// Defines marks a list whose items name further parameters that the
	// file defines itself, as Postfix's smtpd_restriction_classes names
	// the restriction classes defined in main.cf. Each such name is
	// accepted as a string parameter without a default; see
	// [Config.Defined].
	Defines bool
}

// Schema is the set of parameters and services a program understands.
type Schema struct {
	params   map[string]*Param
	names    []string
	services []string
	svcDefs  map[string]map[string]string
	known    map[string]knownName // see AddKnown
	suffixes []knownSuffix        // AddKnown's "*_suffix" names
	hints    []string             // the known names, sorted
	allHints []string             // names and hints, for did-you-mean
}

// NewSchema returns a schema of the given parameters and services (the
// names allowed in front of "service/name" overrides).
func NewSchema(params []Param, services []string) *Schema {
	s := &Schema{params: make(map[string]*Param, len(params)), services: slices.Clone(services), svcDefs: map[string]map[string]string{}}
	for i := range params {
		p := params[i]
		s.params[p.Name] = &p
		s.names = append(s.names, p.Name)
	}
	sort.Strings(s.names)
	return s
}

// SetServiceDefault gives a service its own default for a parameter, the
// way a stock master.cf line carries "-o" options: it takes precedence
// over the global setting in the file (as master.cf's -o does over
// main.cf) and is itself overridden by a "service/name" line. It panics if
// the service or parameter is not declared (a programming error); call it
// before loading.
func (s *Schema) SetServiceDefault(service, name, value string) {
	if !slices.Contains(s.services, service) || s.params[name] == nil {
		panic("config: SetServiceDefault(" + service + ", " + name + "): not declared")
	}
	m := s.svcDefs[service]
	if m == nil {
		m = map[string]string{}
		s.svcDefs[service] = m
	}
	m[name] = value
}

// Services returns the declared service names.
func (s *Schema) Services() []string { return slices.Clone(s.services) }

// Params returns the declared parameters sorted by name.
func (s *Schema) Params() []Param {
	out := make([]Param, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, *s.params[n])
	}
	return out
}

// Lookup returns the declaration of the named parameter.
func (s *Schema) Lookup(name string) (Param, bool) {
	p, ok := s.params[name]
	if !ok {
		return Param{}, false
	}
	return *p, true
}

// Load reads and checks the named file. A missing file is an error; use
// Parse with an empty reader for "defaults only". The settings in extra
// (command-line overrides such as a -data flag) are applied after the
// file's. All problems are returned together as an ErrorList; the Config
// is nil when there are any.
func (s *Schema) Load(file string, extra ...Setting) (*Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, ErrorList{{Pos{}, err.Error()}}
	}
	defer f.Close()
	return s.Parse(file, f, extra...)
}

// Parse reads and checks a configuration from r; file names it in errors.
func (s *Schema) Parse(file string, r io.Reader, extra ...Setting) (*Config, error) {
	return s.ParseOver(nil, file, r, extra...)
}

// ParseOver is [Schema.Parse] on top of base: settings read before the
// file (from another file, such as a dovecot.conf beside a main.cf),
// which the file's own settings, and then extra, override. base's
// settings are checked as the file's are, at their own file:line.
func (s *Schema) ParseOver(base []Setting, file string, r io.Reader, extra ...Setting) (*Config, error) {
	settings, err := ParseSettings(file, r)
	var errs ErrorList
	if err != nil {
		errs = append(errs, err.(ErrorList)...)
	}
	c := &Config{schema: s, global: map[string]Setting{}, services: map[string]map[string]Setting{}, defined: map[string]bool{}}
	all := append(append(slices.Clip(base), settings...), extra...)
	for _, st := range all {
		if p, ok := s.params[st.Name]; ok && p.Defines {
			for _, n := range SplitList(st.Value) {
				if _, declared := s.params[n]; !declared {
					c.defined[n] = true
				}
			}
		}
	}
	for _, st := range all {
		if st.Service != "" && !slices.Contains(s.services, st.Service) {
			msg := fmt.Sprintf("unknown service %q", st.Service)
			if h := closest(st.Service, s.services); h != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", h)
			}
			errs = append(errs, &Error{st.Pos, msg})
			continue
		}
		if p, ok := s.params[st.Name]; ok && p.Runtime {
			errs = append(errs, &Error{st.Pos, fmt.Sprintf("%q is filled in at run time and cannot be set", st.Name)})
			continue
		}
		if _, known := s.knownName(st.Name); known {
			c.set(st)
			continue
		}
		if _, ok := s.params[st.Name]; !ok && !c.defined[st.Name] {
			msg := fmt.Sprintf("unknown parameter %q", st.Name)
			if h := closest(st.Name, s.hintNames()); h != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", h)
			}
			errs = append(errs, &Error{st.Pos, msg})
			continue
		}
		c.set(st)
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			a, b := errs[i].Pos, errs[j].Pos
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
		return nil, errs
	}
	return c, nil
}
