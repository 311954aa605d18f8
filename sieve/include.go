package sieve

import (
	"errors"
	"strings"
)

// ErrNotFound is what an Includer returns for a script that does not exist.
var ErrNotFound = errors.New("sieve: script not found")

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
	if k.cfg.includer == nil {
		if c.has("optional") {
			return nil
		}
		k.errf(c.pos, "included %s script '%s' does not exist", loc, name)
		return errBad
	}
	src, err := k.cfg.includer.LoadScript(loc, name)
	if err != nil {
		if errors.Is(err, ErrNotFound) && c.has("optional") {
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
			if len(k.errs) < 20 {
				e2 := *e
				if e2.Script == "" {
					e2.Script = name
				}
				k.errs = append(k.errs, &e2)
			}
		}
		if len(Errors(perr)) == 0 {
			k.errf(c.pos, "failed to compile included script '%s': %v", name, perr)
		}
		return errBad
	}
	k.inc.done[key] = s
	c.inc = s
	return nil
}

var errBad = errors.New("bad")
