package config

import (
	"slices"
	"sort"
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
// refused, with the nearest declared or known name as a hint. Call it
// before loading.
func (s *Schema) AddKnown(program string, defaults map[string]string) {
	if s.known == nil {
		s.known = map[string]knownName{}
	}
	for name, def := range defaults {
		if _, ok := s.params[name]; ok {
			continue
		}
		if _, ok := s.known[name]; ok {
			continue
		}
		s.known[name] = knownName{program: program, def: def}
		s.hints = append(s.hints, name)
	}
	sort.Strings(s.hints)
	s.allHints = append(slices.Clone(s.names), s.hints...)
}

// Known reports whether name is one that [Schema.AddKnown] declared
// (and s does not implement), and which program knows it.
func (s *Schema) Known(name string) (program string, ok bool) {
	k, ok := s.known[name]
	return k.program, ok
}

// hintNames returns the names a misspelling is compared with: the
// declared ones and the known ones.
func (s *Schema) hintNames() []string {
	if s.allHints == nil {
		return s.names
	}
	return s.allHints
}
