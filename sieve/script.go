package sieve

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Script is a parsed and checked Sieve script, ready to run any number
// of times, from any number of goroutines.
type Script struct {
	// Name is the script's name as given to WithName ("" when unnamed),
	// used in logs and include cycle errors.
	Name string

	cmds     []*call
	warnings []*Error
	required map[string]bool
	enabled  map[string]bool // the extensions the script could require (ihave)
	limits   Limits
}

// Warnings returns what the check found that does not stop the script
// (an unknown date part, a vacation period under the minimum, with
// WithUpload an included script that does not exist yet), in script
// order, as sievec prints them with "warning:". ManageSieve sends them
// with a WARNINGS response code (RFC 5804 section 1.3).
func (s *Script) Warnings() []*Error { return s.warnings }

// Requires returns the extensions the script required, sorted.
func (s *Script) Requires() []string {
	out := make([]string, 0, len(s.required))
	for e := range s.required {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Limits bound what a script may cost, like Pigeonhole's settings of
// the same names. Zero fields take the defaults in DefaultLimits.
type Limits struct {
	// MaxScriptSize is sieve_max_script_size (default 1 MiB).
	MaxScriptSize int
	// MaxActions is sieve_max_actions (default 32).
	MaxActions int
	// MaxRedirects is sieve_max_redirects (default 4).
	MaxRedirects int
	// MaxNesting bounds nested blocks and tests (default 32).
	MaxNesting int
	// MaxIncludes is sieve_include_max_includes (default 255), and
	// MaxIncludeNesting sieve_include_max_nesting_depth (default 10).
	MaxIncludes       int
	MaxIncludeNesting int
	// MaxCPUTime bounds one run's wall-clock time (Pigeonhole's
	// sieve_max_cpu_time; default 30s).
	MaxCPUTime time.Duration
	// MaxRegexSize bounds a regex pattern's length (default 8 KiB).
	MaxRegexSize int
	// MaxVariableSize is sieve_variables_max_variable_size (default 4 KiB).
	MaxVariableSize int
	// MaxVariables is sieve_variables_max_scope_size (default 255).
	MaxVariables int
	// MaxStringSize bounds a string list's total size after expansion
	// and the body text a test reads (default 1 MiB).
	MaxStringSize int
	// MaxSteps bounds the commands and tests one run evaluates
	// (default 100000).
	MaxSteps int
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxScriptSize:     1 << 20,
	MaxActions:        32,
	MaxRedirects:      4,
	MaxNesting:        32,
	MaxIncludes:       255,
	MaxIncludeNesting: 10,
	MaxCPUTime:        30 * time.Second,
	MaxRegexSize:      8 << 10,
	MaxVariableSize:   4 << 10,
	MaxVariables:      255,
	MaxStringSize:     1 << 20,
	MaxSteps:          100000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxScriptSize, d.MaxScriptSize)
	set(&l.MaxActions, d.MaxActions)
	set(&l.MaxRedirects, d.MaxRedirects)
	set(&l.MaxNesting, d.MaxNesting)
	set(&l.MaxIncludes, d.MaxIncludes)
	set(&l.MaxIncludeNesting, d.MaxIncludeNesting)
	set(&l.MaxRegexSize, d.MaxRegexSize)
	set(&l.MaxVariableSize, d.MaxVariableSize)
	set(&l.MaxVariables, d.MaxVariables)
	set(&l.MaxStringSize, d.MaxStringSize)
	set(&l.MaxSteps, d.MaxSteps)
	if l.MaxCPUTime <= 0 {
		l.MaxCPUTime = d.MaxCPUTime
	}
	return l
}

// IncludeLocation is where an include command looks: ":personal" (the
// user's script storage) or ":global" (sieve_global).
type IncludeLocation string

// The include locations of RFC 6609.
const (
	IncludePersonal IncludeLocation = "personal"
	IncludeGlobal   IncludeLocation = "global"
)

// Includer loads the script an include command names. It returns
// ErrNotFound (wrapped or not) for a missing script.
type Includer interface {
	LoadScript(loc IncludeLocation, name string) ([]byte, error)
}

// IncluderFunc adapts a function to Includer.
type IncluderFunc func(loc IncludeLocation, name string) ([]byte, error)

// LoadScript calls f.
func (f IncluderFunc) LoadScript(loc IncludeLocation, name string) ([]byte, error) {
	return f(loc, name)
}

// Option configures Parse.
type Option func(*config)

type config struct {
	exts     map[string]bool
	limits   Limits
	includer Includer
	name     string
	upload   bool
}

// WithExtensions sets the extensions a script may require (Pigeonhole's
// sieve_extensions), replacing DefaultExtensions. Names the package does
// not implement are ignored.
func WithExtensions(names ...string) Option {
	return func(c *config) {
		c.exts = map[string]bool{}
		for _, n := range names {
			n = strings.ToLower(n)
			if implemented[n] {
				c.exts[n] = true
			}
		}
	}
}

// WithLimits sets the limits; zero fields keep their defaults.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l.withDefaults() } }

// WithIncluder sets where include finds scripts. Without one, include
// fails at Parse for every script it names.
func WithIncluder(i Includer) Option { return func(c *config) { c.includer = i } }

// WithUpload checks the script as Pigeonhole's ManageSieve does at
// upload: a personal script that an include names but that does not
// exist (yet) is a warning, "(ignored during upload)", not an error. A
// Script parsed so is for checking only; run the script parsed again at
// delivery.
func WithUpload() Option { return func(c *config) { c.upload = true } }

// WithName names the script for errors and logs.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// Parse parses and checks a Sieve script. A syntax or semantic error
// is returned as an ErrorList of *Error, each with the line and column
// sievec reports; a script over Limits.MaxScriptSize gives
// ErrScriptTooLarge. Includes are resolved now, through the Includer.
func Parse(script []byte, opts ...Option) (*Script, error) {
	cfg := &config{limits: DefaultLimits}
	WithExtensions(DefaultExtensions...)(cfg)
	for _, o := range opts {
		o(cfg)
	}
	return parseWith(script, cfg, nil)
}

// includeState tracks include resolution across nested scripts.
type includeState struct {
	count int
	stack []string
	done  map[string]*Script
}

func parseWith(script []byte, cfg *config, inc *includeState) (*Script, error) {
	if len(script) > cfg.limits.MaxScriptSize {
		return nil, fmt.Errorf("%w (%d bytes, limit %d)", ErrScriptTooLarge, len(script), cfg.limits.MaxScriptSize)
	}
	nodes, perrs := parseScript(script, cfg.limits.MaxNesting)
	if perrs != nil {
		for _, e := range perrs {
			e.Syntax = true
		}
		return nil, ErrorList(perrs)
	}
	if inc == nil {
		inc = &includeState{done: map[string]*Script{}}
	}
	k := &checker{cfg: cfg, enabled: cfg.exts, required: map[string]bool{}, inc: inc}
	s := &Script{Name: cfg.name, required: k.required, enabled: cfg.exts, limits: cfg.limits}
	k.script = s
	// require must be seen before the rest is checked.
	for _, n := range nodes {
		if n.name != "require" {
			break
		}
	}
	if k.enabledEncoded(nodes) {
		decodeEncoded(nodes, k)
	}
	s.cmds = k.checkBlock(nodes, true)
	if len(k.errs) > 0 {
		return nil, k.all
	}
	s.warnings = k.warns
	return s, nil
}

// enabledEncoded reports whether the script requires encoded-character.
func (k *checker) enabledEncoded(nodes []*node) bool {
	for _, n := range nodes {
		if n.name != "require" {
			break
		}
		for _, a := range n.args {
			for _, s := range a.strs {
				if strings.EqualFold(s, "encoded-character") && k.enabled["encoded-character"] {
					return true
				}
			}
		}
	}
	return false
}

// DefaultExtensions are the extensions Parse enables without
// WithExtensions: those Pigeonhole 2.3 enables by default that this
// package implements.
var DefaultExtensions = []string{
	"fileinto", "reject", "envelope", "encoded-character", "vacation", "subaddress",
	"comparator-i;ascii-numeric", "relational", "regex", "imap4flags", "copy", "include",
	"variables", "body", "enotify", "environment", "mailbox", "date", "index", "ihave",
	"duplicate",
}

// implemented lists every extension this package implements.
var implemented = map[string]bool{
	"fileinto": true, "reject": true, "ereject": true, "envelope": true, "encoded-character": true,
	"vacation": true, "vacation-seconds": true, "subaddress": true, "comparator-i;ascii-numeric": true,
	"relational": true, "regex": true, "imap4flags": true, "copy": true, "include": true,
	"variables": true, "body": true, "enotify": true, "environment": true, "mailbox": true,
	"date": true, "index": true, "ihave": true, "duplicate": true, "editheader": true,
	"spamtest": true, "spamtestplus": true, "virustest": true,
}

// Extensions returns every extension this package implements, sorted.
func Extensions() []string {
	out := make([]string, 0, len(implemented))
	for e := range implemented {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Capabilities returns the ManageSieve SIEVE capability string (RFC 5804
// section 1.7) for the given extensions, space-separated in the order
// given, omitting those not implemented; with none given it describes
// DefaultExtensions. NotifyCapability gives the NOTIFY string.
func Capabilities(exts ...string) string {
	if len(exts) == 0 {
		exts = DefaultExtensions
	}
	var out []string
	for _, e := range exts {
		if implemented[strings.ToLower(e)] {
			out = append(out, strings.ToLower(e))
		}
	}
	return strings.Join(out, " ")
}

// NotifyCapability is the ManageSieve NOTIFY capability: the enotify
// methods this package supports.
const NotifyCapability = "mailto"
