package sieve

import (
	"errors"
	"strings"
)

// ErrNotFound is what an Includer returns for a script that does not exist.
var ErrNotFound = errors.New("sieve: script not found")

// ErrNoLocation is what an Includer returns when the location asked for
// is not configured (include :global without sieve_global).
var ErrNoLocation = errors.New("sieve: include location not configured")

// include resolves an include command at check time (RFC 6609): the
// named script is loaded through the Includer and checked; cycles and
// the include limits are errors.
func (k *checker) include(c *call) error {
	name := c.args[0].strs[0]
	if k.has("variables") && strings.Contains(name, "${") {
		k.errf(c.args[0].pos, "the include command does not accept variables in the script name")
		return errBad
	}
	if name == "" || strings.ContainsAny(name, "/\x00") {
		k.errf(c.args[0].pos, "include: invalid script name '%s'", name)
		return errBad
	}
	loc := IncludePersonal
	if c.has("global") {
		loc = IncludeGlobal
	}
	key := string(loc) + "/" + name
	for _, s := range k.inc.stack {
		if s == key {
			k.errf(c.pos, "circular include")
			return errBad
		}
	}
	if s, ok := k.inc.done[key]; ok {
		c.inc = s
		return nil
	}
	if len(k.inc.stack) >= k.cfg.limits.MaxIncludeNesting {
		k.errf(c.pos, "cannot nest includes deeper than %d levels", k.cfg.limits.MaxIncludeNesting)
		return errBad
	}
	k.inc.count++
	if k.inc.count > k.cfg.limits.MaxIncludes {
		k.errf(c.pos, "failed to include script '%s': no more than %d includes allowed", name, k.cfg.limits.MaxIncludes)
		return errBad
	}
	var src []byte
	err := ErrNotFound
	if k.cfg.includer != nil {
		src, err = k.cfg.includer.LoadScript(loc, name)
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrNoLocation):
			k.errf(c.pos, "include: %s location for included script `%s' is unavailable (contact system administrator for more information)", loc, name)
			return errBad
		case !errors.Is(err, ErrNotFound):
			k.errf(c.pos, "failed to include script '%s' (contact system administrator for more information)", name)
			return errBad
		case c.has("optional"):
			return nil
		case k.cfg.upload && loc == IncludePersonal:
			k.warnf(c.pos, "included %s script '%s' does not exist (ignored during upload)", loc, name)
			return nil
		}
		k.errf(c.pos, "included %s script '%s' does not exist", loc, name)
		return errBad
	}
	k.inc.stack = append(k.inc.stack, key)
	sub := *k.cfg
	sub.name = name
	s, perr := parseWith(src, &sub, k.inc)
	k.inc.stack = k.inc.stack[:len(k.inc.stack)-1]
	if perr != nil {
		// The included script's own errors, as sievec reports them.
		for _, e := range Errors(perr) {
			e2 := *e
			if e2.Script == "" {
				e2.Script = name
			}
			if e2.Warning {
				k.addWarning(&e2)
			} else {
				k.addErr(&e2)
			}
		}
		if len(Errors(perr)) == 0 {
			k.errf(c.pos, "failed to compile included script '%s': %v", name, perr)
		}
		return errBad
	}
	for _, w := range s.warnings {
		w2 := *w
		if w2.Script == "" {
			w2.Script = name
		}
		k.addWarning(&w2)
	}
	k.inc.done[key] = s
	c.inc = s
	return nil
}

var errBad = errors.New("bad")
