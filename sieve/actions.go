package sieve

import (
	"strings"
)

// action runs an action or other non-control command.
func (r *run) action(c *call) error {
	switch c.name {
	case "keep":
		return r.add(c, Action{Kind: ActKeep, Flags: r.actionFlags(c)})
	case "fileinto":
		a := Action{Kind: ActFileInto, Mailbox: r.str(c.args[0]), Flags: r.actionFlags(c),
			Create: c.has("create"), Copy: c.has("copy")}
		if a.Mailbox == "" {
			return r.fail(c.pos, "fileinto: empty mailbox name")
		}
		return r.add(c, a)
	case "redirect":
		to := r.str(c.args[0])
		addr, err := parseAddrSpec(to)
		if err != nil {
			return r.fail(c.pos, "specified redirect address '%s' is invalid", to)
		}
		return r.add(c, Action{Kind: ActRedirect, Address: addr, Copy: c.has("copy")})
	case "discard":
		return r.add(c, Action{Kind: ActDiscard})
	case "reject", "ereject":
		k := ActReject
		if c.name == "ereject" {
			k = ActEreject
		}
		return r.add(c, Action{Kind: k, Reason: r.str(c.args[0])})
	case "vacation":
		return r.vacationAction(c)
	case "notify":
		return r.notify(c)
	case "setflag", "addflag", "removeflag":
		return r.flagCommand(c)
	case "set":
		return r.setVar(r.str(c.args[0]), applyModifiers(c, r.str(c.args[1])))
	case "addheader", "deleteheader":
		return r.editHeader(c)
	case "error":
		return r.fail(c.pos, "%s", r.str(c.args[0]))
	}
	return r.fail(c.pos, "unknown command %s", c.name)
}

// actionFlags is :flags when given, else the internal flags variable.
func (r *run) actionFlags(c *call) []string {
	if a, ok := c.tags["flags"]; ok {
		return splitFlags(r.strs(a))
	}
	// The internal flags, which an earlier script of the sequence may
	// have set even when this one does not require imap4flags (as in
	// Pigeonhole).
	return append([]string(nil), r.flags...)
}

// add appends an action, merging duplicates and checking conflicts and
// limits (RFC 5228 section 4; Pigeonhole's sieve_max_actions).
func (r *run) add(c *call, a Action) error {
	a.Pos = c.pos
	acts := r.res.Actions
	def := r.env.DefaultMailbox
	if def == "" {
		def = "INBOX"
	}
	for i := range acts {
		b := &acts[i]
		switch {
		case isStore(a) && isStore(*b) && storeName(a, def) == storeName(*b, def):
			b.Flags = unionFlags(b.Flags, a.Flags)
			if a.Kind == ActKeep || b.Kind == ActKeep {
				b.Kind, b.Mailbox = ActKeep, ""
			}
			if !a.Copy {
				b.Copy = false
				r.cancelled = true
			}
			b.Create = b.Create || a.Create
			return nil
		case a.Kind == ActRedirect && b.Kind == ActRedirect && sameAddress(a.Address, b.Address):
			if !a.Copy {
				b.Copy = false
				r.cancelled = true
			}
			return nil
		case a.Kind == ActDiscard && b.Kind == ActDiscard:
			return nil
		}
		if (a.Kind == ActReject || a.Kind == ActEreject) && (isStore(*b) || b.Kind == ActRedirect && !b.Copy || b.Kind == ActVacation || b.Kind == ActReject || b.Kind == ActEreject) {
			return r.fail(c.pos, "%s action conflicts with other action: the %s action (line %d)", a.Kind, b.Kind, b.Pos.Line)
		}
		if (b.Kind == ActReject || b.Kind == ActEreject) && (isStore(a) || a.Kind == ActRedirect && !a.Copy || a.Kind == ActVacation) {
			return r.fail(c.pos, "%s action conflicts with earlier %s action", a.Kind, b.Kind)
		}
	}
	if a.Kind == ActRedirect {
		r.redirects++
		if r.redirects > r.limits.MaxRedirects {
			return r.fail(c.pos, "number of redirect actions exceeds policy limit")
		}
	}
	if len(acts) >= r.limits.MaxActions {
		return r.fail(c.pos, "total number of actions exceeds policy limit")
	}
	switch a.Kind {
	case ActKeep, ActDiscard, ActReject, ActEreject:
		r.cancelled = true
	case ActFileInto, ActRedirect:
		if !a.Copy {
			r.cancelled = true
		}
	}
	r.res.Actions = append(r.res.Actions, a)
	return nil
}

func isStore(a Action) bool { return a.Kind == ActKeep || a.Kind == ActFileInto }

func storeName(a Action, def string) string {
	if a.Kind == ActKeep {
		return normMailbox(def)
	}
	return normMailbox(a.Mailbox)
}

func normMailbox(m string) string {
	if strings.EqualFold(m, "INBOX") {
		return "INBOX"
	}
	return m
}

// splitFlags turns flag strings into a flag list: space-separated
// names, duplicates (case-insensitive) dropped (RFC 5232 section 3).
func splitFlags(in []string) []string {
	var out []string
	for _, s := range in {
		for _, f := range strings.Fields(s) {
			out = unionFlags(out, []string{f})
		}
	}
	return out
}

func unionFlags(a, b []string) []string {
	out := append([]string(nil), a...)
next:
	for _, f := range b {
		for _, g := range out {
			if strings.EqualFold(f, g) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

func removeFlags(a, b []string) []string {
	var out []string
next:
	for _, f := range a {
		for _, g := range b {
			if strings.EqualFold(f, g) {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// flagCommand runs setflag, addflag and removeflag on the internal
// variable or a named one.
func (r *run) flagCommand(c *call) error {
	list := splitFlags(r.strs(c.args[1]))
	var cur []string
	varName := ""
	if c.args[0].kind == argStrings {
		varName = r.str(c.args[0])
		cur = splitFlags([]string{r.getVar(varName)})
	} else {
		cur = r.flags
	}
	switch c.name {
	case "setflag":
		cur = list
	case "addflag":
		cur = unionFlags(cur, list)
	case "removeflag":
		cur = removeFlags(cur, list)
	}
	if varName != "" {
		return r.setVar(varName, strings.Join(cur, " "))
	}
	r.flags = cur
	return nil
}

// sameAddress compares addresses as Pigeonhole does: the local part
// exactly, the domain without case.
func sameAddress(a, b string) bool {
	la, da, _ := splitAddress(a)
	lb, db, _ := splitAddress(b)
	return la == lb && strings.EqualFold(da, db)
}
