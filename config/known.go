package config

import (
	"slices"
	"sort"
	"strings"
)

// knownName is a parameter another program understands and this one
// does not implement: a setting of it is accepted and has no effect.
type knownName struct {
	program string // who knows it, "Postfix 3.7"
	def     string // that program's default, for $name references
}

// AddKnown declares names that program (such as "Postfix 3.7") knows
// with their defaults there, and that s does not implement. A file may
// set them: the setting is accepted so that an existing main.cf loads,
// has no effect, and [ReadLog.Unused] reports it; a $name reference to
// one expands to its setting in the file, else to program's default
// ($config_directory is /etc/postfix). Names s declares itself, and
// names added before, keep their meaning. Misspelt names are still
// refused, with the nearest declared or known name as a hint.
//
// A name of the form "*_suffix" stands for every name that ends in
// _suffix after at least one name character: Postfix's per-transport
// parameters (transport_destination_recipient_limit for any master.cf
// service). Call it before loading.
func (s *Schema) AddKnown(program string, defaults map[string]string) {
	if s.known == nil {
		s.known = map[string]knownName{}
	}
	for name, def := range defaults {
		if suffix, ok := strings.CutPrefix(name, "*"); ok {
			if !slices.ContainsFunc(s.suffixes, func(k knownSuffix) bool { return k.suffix == suffix }) {
				s.suffixes = append(s.suffixes, knownSuffix{suffix, knownName{program: program, def: def}})
			}
			continue
		}
		if _, ok := s.params[name]; ok {
			continue
		}
		if _, ok := s.known[name]; ok {
			continue
		}
		s.known[name] = knownName{program: program, def: def}
		s.hints = append(s.hints, name)
	}
	// The longest suffix first, so that a name matches one pattern
	// whatever the order of defaults.
	sort.Slice(s.suffixes, func(i, j int) bool {
		a, b := s.suffixes[i].suffix, s.suffixes[j].suffix
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	sort.Strings(s.hints)
	s.allHints = append(slices.Clone(s.names), s.hints...)
}

// Known reports whether name is one that [Schema.AddKnown] declared
// (and s does not implement), and which program knows it.
func (s *Schema) Known(name string) (program string, ok bool) {
	k, ok := s.knownName(name)
	return k.program, ok
}

// knownSuffix is a "*_suffix" name of AddKnown.
type knownSuffix struct {
	suffix string
	k      knownName
}

// knownName returns what AddKnown declared for name, when s does not
// declare name itself.
func (s *Schema) knownName(name string) (knownName, bool) {
	if _, ok := s.params[name]; ok {
		return knownName{}, false
	}
	if k, ok := s.known[name]; ok {
		return k, true
	}
	for _, ks := range s.suffixes {
		if p, ok := strings.CutSuffix(name, ks.suffix); ok && validName(p) {
			return ks.k, true
		}
	}
	return knownName{}, false
}

// hintNames returns the names a misspelling is compared with: the
// declared ones and the known ones.
func (s *Schema) hintNames() []string {
	if s.allHints == nil {
		return s.names
	}
	return s.allHints
}
