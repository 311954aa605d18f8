package sieve

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
)

// call is a checked command or test: its tags resolved, its
// comparator and match type chosen, its constant regexes compiled.
type call struct {
	name  string
	pos   Pos
	tags  map[string]arg
	args  []arg // positional, with omitted optional leading ones as zero args
	tests []*call
	block []*call
	// elses is the elsif/else chain of an if.
	elses []*call

	cmp      string // comparator name
	mt       string // is, contains, matches, regex, value, count
	rel      string // relational operator for value/count
	addrPart string // all, localpart, domain, user, detail
	regexes  []*regexp.Regexp
	// include: the included script once resolved.
	inc *Script
}

func (c *call) has(tag string) bool { _, ok := c.tags[tag]; return ok }

// checker validates the syntax tree against the specs and the enabled
// extensions.
type checker struct {
	cfg      *config
	enabled  map[string]bool // extensions the script may require
	required map[string]bool // extensions the script required
	errs     ErrorList
	warns    []*Error
	all      ErrorList // errors and warnings in the order found
	script   *Script
	inc      *includeState
	unknown  map[string]bool // unknown commands and tests already reported
}

func (k *checker) errf(p Pos, format string, args ...any) {
	k.addErr(&Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// addErr records an error; sievec stops listing them after 20.
func (k *checker) addErr(e *Error) {
	if len(k.errs) < 20 {
		k.errs = append(k.errs, e)
		k.all = append(k.all, e)
	}
}

// warnf records a warning: the script still compiles.
func (k *checker) warnf(p Pos, format string, args ...any) {
	k.addWarning(&Error{Pos: p, Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (k *checker) addWarning(w *Error) {
	if len(k.warns) < 20 {
		k.warns = append(k.warns, w)
		k.all = append(k.all, w)
	}
}

// checkBlock checks a list of commands; top tells the script's top
// level, where require may appear first.
func (k *checker) checkBlock(nodes []*node, top bool) []*call {
	var out []*call
	requireOK := top
	for i, n := range nodes {
		if n.name == "require" {
			if !requireOK {
				k.errf(n.pos, "require commands can only be placed at top level at the beginning of the file")
				continue
			}
			k.require(n)
			continue
		}
		requireOK = false
		if n.name == "elsif" || n.name == "else" {
			prev := ""
			if i > 0 {
				prev = nodes[i-1].name
			}
			if prev != "if" && prev != "elsif" {
				k.errf(n.pos, "the %s command must follow an if or elseif command", n.name)
				continue
			}
			c := k.command(n, false)
			if c != nil && len(out) > 0 {
				last := out[len(out)-1]
				if last.name == "if" {
					last.elses = append(last.elses, c)
				}
			}
			continue
		}
		if c := k.command(n, false); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func (k *checker) require(n *node) {
	if len(n.args) == 1 && n.args[0].kind != argStrings {
		k.errf(n.pos, "the require command accepts a single string or string list argument, but %s was found", argName(n.args[0]))
		return
	}
	if len(n.args) != 1 || n.args[0].kind != argStrings || len(n.tests) > 0 || n.hasBlock {
		k.errf(n.pos, "the require command expects a string list argument")
		return
	}
	for _, e := range n.args[0].strs {
		le := strings.ToLower(e)
		if !k.enabled[le] {
			k.errf(n.args[0].pos, "require command: unknown Sieve capability `%s'", e)
			continue
		}
		k.required[le] = true
		if le == "spamtestplus" {
			k.required["spamtest"] = true
		}
		if le == "ereject" {
			k.required["reject"] = true
		}
	}
}

func (k *checker) has(ext string) bool {
	return ext == "" || k.required[ext]
}

// command checks one command or test node.
func (k *checker) command(n *node, test bool) *call {
	sp, ok := specs[n.name]
	if !ok || !k.has(sp.ext) {
		if k.unknown[n.name] {
			return nil // reported once, at its first occurrence
		}
		if k.unknown == nil {
			k.unknown = map[string]bool{}
		}
		k.unknown[n.name] = true
		if sp != nil && sp.test || sp == nil && test {
			k.errf(n.pos, "unknown test '%s' (only reported once at first occurrence)", n.name)
		} else {
			k.errf(n.pos, "unknown command '%s' (only reported once at first occurrence)", n.name)
		}
		return nil
	}
	if sp.test && !test {
		k.errf(n.pos, "attempted to use test '%s' as command", n.name)
		return nil
	}
	c := k.args(n, sp)
	if c == nil {
		return nil
	}
	// Tests and blocks.
	switch sp.tests {
	case 0:
		if len(n.tests) > 0 {
			// As Pigeonhole: a known test is a misplaced test; a word
			// that is this command's tag lacks its colon; anything else
			// most likely follows a missing semicolon.
			t := n.tests[0]
			tsp, known := specs[t.name]
			known = known && k.has(tsp.ext)
			_, isTag := sp.tags[t.name]
			switch {
			case known && tsp.test:
				k.errf(n.pos, "the %s %s accepts no sub-tests, but tests are specified", n.name, kind(sp))
			case !known && isTag:
				k.errf(n.pos, "missing colon ':' before ':%s' tag in %s %s", t.name, n.name, kind(sp))
			default:
				k.errf(n.pos, "missing semicolon ';' after %s %s", n.name, kind(sp))
			}
			return nil
		}
	case 1:
		if len(n.tests) == 0 {
			k.errf(n.pos, "the %s %s requires one sub-test, but none is specified", n.name, kind(sp))
			return nil
		}
		if len(n.tests) != 1 || n.testList {
			k.errf(n.pos, "the %s %s requires one sub-test, but a list of tests is specified", n.name, kind(sp))
			return nil
		}
	case 2:
		if !n.testList {
			k.errf(n.pos, "the %s %s requires a list of sub-tests, but a single test is specified", n.name, kind(sp))
			return nil
		}
	}
	for _, t := range n.tests {
		ts, ok := specs[t.name]
		if ok && !ts.test {
			k.errf(t.pos, "attempted to use command '%s' as test", t.name)
			return nil
		}
		tc := k.command(t, true)
		if tc == nil {
			return nil
		}
		c.tests = append(c.tests, tc)
	}
	if sp.block && !n.hasBlock {
		k.errf(n.pos, "the %s command requires a command block, but it is missing", n.name)
		return nil
	}
	if !sp.block && n.hasBlock {
		k.errf(n.pos, "the %s command does not accept a command block, but one is specified anyway", n.name)
		return nil
	}
	if n.hasBlock {
		c.block = k.checkBlock(n.block, false)
	}
	if !k.validate(c) {
		return nil
	}
	return c
}

// regexReason words a regular expression's error as the POSIX regcomp
// Pigeonhole uses does, where the two agree on the fault; Go's words
// otherwise.
func regexReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		switch se.Code {
		case syntax.ErrMissingParen:
			return `unmatched ( or \(`
		case syntax.ErrUnexpectedParen:
			return `unmatched ) or \)`
		case syntax.ErrInvalidCharRange:
			return "invalid range end"
		case syntax.ErrMissingBracket:
			return "unmatched [, [^, [:, [., or [="
		case syntax.ErrMissingRepeatArgument, syntax.ErrInvalidRepeatOp:
			return "invalid preceding regular expression"
		case syntax.ErrInvalidRepeatSize:
			return `invalid content of \{\}`
		}
	}
	return err.Error()
}

// addrDetail is the reason Pigeonhole gives for the commonest invalid
// address, a local part with no '@' after it (": invalid or lonely local
// part 'x' (expecting '@')"); "" for others.
func addrDetail(s string) string {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", s[i]) >= 0) {
		i++
	}
	if i == 0 || i < len(s) && s[i] == '@' {
		return ""
	}
	return ": invalid or lonely local part '" + s[:i] + "' (expecting '@')"
}

// tagParamOK checks a tag's parameter as soon as it is read, as
// Pigeonhole does (before the positional arguments are counted): the
// comparator's name and the relational operator.
func (k *checker) tagParamOK(tag string, val arg) bool {
	if len(val.strs) == 0 {
		return true
	}
	switch tag {
	case "comparator":
		switch name := strings.ToLower(val.strs[0]); {
		case name == "i;octet", name == "i;ascii-casemap":
		case name == "i;ascii-numeric" && k.has("comparator-i;ascii-numeric"):
		default:
			k.errf(val.pos, "unknown comparator '%s'", val.strs[0])
			return false
		}
	case "value", "count":
		if !relOps[strings.ToLower(val.strs[0])] {
			k.errf(val.pos, "the :%s match-type requires a constant string argument being one of \"gt\", \"ge\", \"lt\", \"le\", \"eq\" or \"ne\", but \"%s\" was found", tag, val.strs[0])
			return false
		}
	}
	return true
}

// conflictText is Pigeonhole's message for a tag of a group that already
// has one (:contains after :is, :seconds after :days...).
func conflictText(name, kind, group, tag, other string) string {
	switch {
	case group == "match":
		return "encountered duplicate MATCH-TYPE argument (:" + tag + ") for the " + name + " " + kind
	case group == "addrpart":
		return "encountered duplicate ADDRESS-PART argument (:" + tag + ") for the " + name + " " + kind
	case name == "size":
		return "exactly one of the ':under' or ':over' tags must be specified for the size test, but more were found"
	case name == "include":
		return "include: cannot use location tags ':personal' and ':global' multiple times"
	case name == "duplicate":
		return "conflicting :header and :uniqueid arguments specified for the duplicate test"
	}
	return "encountered duplicate :" + tag + " argument for the " + name + " " + kind
}

func kind(sp *cmdSpec) string {
	if sp.test {
		return "test"
	}
	return "command"
}

// args sorts a node's arguments into tags and positional arguments.
func (k *checker) args(n *node, sp *cmdSpec) *call {
	c := &call{name: n.name, pos: n.pos, cmp: "i;ascii-casemap", mt: "is", addrPart: "all"}
	groups := map[string]string{}
	var pos []arg
	for i := 0; i < len(n.args); i++ {
		a := n.args[i]
		if a.kind != argTag {
			pos = append(pos, a)
			continue
		}
		ts, ok := sp.tags[a.tag]
		if !ok || !k.has(ts.ext) {
			k.errf(a.pos, "unknown tagged argument ':%s' for the %s %s (reported only once at first occurrence)", a.tag, n.name, kind(sp))
			return nil
		}
		if c.tags == nil {
			c.tags = map[string]arg{}
		}
		if _, dup := c.tags[a.tag]; dup {
			k.errf(a.pos, "encountered duplicate :%s argument for the %s %s", a.tag, n.name, kind(sp))
			return nil
		}
		if ts.group != "" {
			if other, ok := groups[ts.group]; ok {
				k.errf(a.pos, "%s", conflictText(n.name, kind(sp), ts.group, a.tag, other))
				return nil
			}
			groups[ts.group] = a.tag
		}
		val := arg{kind: argTag, tag: a.tag, pos: a.pos}
		if ts.param != noParam {
			if i+1 >= len(n.args) || !argFits(n.args[i+1], posKind(ts.param)) {
				found := ""
				if i+1 < len(n.args) {
					found = ", but " + argName(n.args[i+1]) + " was found"
				}
				k.errf(a.pos, "the :%s tag for the %s %s requires %s as parameter%s", a.tag, n.name, kind(sp), kindName(posKind(ts.param)), found)
				return nil
			}
			i++
			val = n.args[i]
			if !k.tagParamOK(a.tag, val) {
				return nil
			}
		}
		c.tags[a.tag] = val
		switch ts.group {
		case "match":
			c.mt = a.tag
		case "addrpart":
			c.addrPart = a.tag
		}
	}
	if len(pos) > len(sp.pos) || len(pos) < len(sp.pos)-sp.optLead-sp.optTrail {
		// Pigeonhole's wording, and its line: the command's.
		if len(pos) == 0 && sp.optLead > 0 {
			k.errf(n.pos, "the %s %s expects at least one argument, but none was found", n.name, kind(sp))
		} else {
			k.errf(n.pos, "the %s %s requires %d positional argument(s), but %d is/are specified", n.name, kind(sp), len(sp.pos), len(pos))
		}
		return nil
	}
	skip := len(sp.pos) - len(pos)
	if sp.optTrail > 0 {
		skip = 0
	}
	c.args = make([]arg, len(sp.pos))
	for i, a := range pos {
		want := sp.pos[skip+i]
		if !argFits(a, want) {
			k.errf(a.pos, "the %s %s expects %s as argument %d%s, but %s was found", n.name, kind(sp), kindName(want), skip+i+1, argLabel(n.name, skip+i), argName(a))
			return nil
		}
		c.args[skip+i] = a
	}
	return c
}

// argLabels are the names Pigeonhole gives positional arguments in its
// messages ("argument 2 (key list)"), for the commands whose names were
// checked against sievec; others are left unnamed.
var argLabels = map[string][]string{
	"header":   {"header names", "key list"},
	"exists":   {"header names"},
	"size":     {"limit"},
	"redirect": {"address"},
	"fileinto": {"folder"},
}

// argLabel is " (name)" for argument i of command, or "".
func argLabel(command string, i int) string {
	if l := argLabels[command]; i < len(l) {
		return " (" + l[i] + ")"
	}
	return ""
}

func argFits(a arg, want posKind) bool {
	switch want {
	case posString:
		return a.kind == argStrings && !a.isList
	case posStringList:
		return a.kind == argStrings
	case posNumber:
		return a.kind == argNumber
	}
	return false
}

func kindName(k posKind) string {
	switch k {
	case posString:
		return "a string"
	case posStringList:
		return "a string list"
	}
	return "a number"
}

func argName(a arg) string {
	switch a.kind {
	case argTag:
		return "tag ':" + a.tag + "'"
	case argNumber:
		return "a number"
	}
	if a.isList {
		return "a string list"
	}
	return "a string"
}

var relOps = map[string]bool{"gt": true, "ge": true, "lt": true, "le": true, "eq": true, "ne": true}

// validate does the per-command semantic checks.
func (k *checker) validate(c *call) bool {
	if k.has("variables") && !k.namespaces(c) {
		return false
	}
	if a, ok := c.tags["comparator"]; ok {
		name := strings.ToLower(a.strs[0])
		switch name {
		case "i;octet", "i;ascii-casemap":
		case "i;ascii-numeric":
			if !k.has("comparator-i;ascii-numeric") {
				k.errf(a.pos, "unknown comparator '%s'", a.strs[0])
				return false
			}
		default:
			k.errf(a.pos, "unknown comparator '%s'", a.strs[0])
			return false
		}
		c.cmp = name
	}
	if c.mt == "value" || c.mt == "count" {
		a := c.tags[c.mt]
		r := strings.ToLower(a.strs[0])
		if !relOps[r] {
			k.errf(a.pos, "the :%s match-type requires a constant string argument being one of \"gt\", \"ge\", \"lt\", \"le\", \"eq\" or \"ne\", but \"%s\" was found", c.mt, a.strs[0])
			return false
		}
		c.rel = r
	}
	if c.mt == "regex" && c.cmp == "i;ascii-numeric" {
		k.errf(c.pos, "regex match type only supports i;octet and i;ascii-casemap comparators")
		return false
	}
	if (c.mt == "contains" || c.mt == "matches") && c.cmp == "i;ascii-numeric" {
		k.errf(c.pos, "the specified %s comparator does not support sub-string matching as required by the :%s match type", c.cmp, c.mt)
		return false
	}
	if c.has("last") && !c.has("index") && c.name != "duplicate" && c.name != "addheader" {
		k.errf(c.tags["last"].pos, "the :last tag for the %s test cannot be specified without the :index tag", c.name)
		return false
	}
	switch c.name {
	case "size":
		if !c.has("over") && !c.has("under") {
			k.errf(c.pos, "the size test requires either the :under or the :over tag to be specified")
			return false
		}
	case "date", "currentdate":
		part := c.args[0]
		if c.name == "date" {
			part = c.args[1]
		}
		if !hasVar(part.strs[0], k) {
			if _, known := datePart(time.Time{}, strings.ToLower(part.strs[0])); !known {
				k.warnf(part.pos, "specified date part `%s' is not known", part.strs[0])
			}
		}
	case "vacation":
		if a, ok := c.tags["days"]; ok && time.Duration(a.num)*24*time.Hour < vacationMinPeriod {
			k.warnf(a.pos, "specified :days value '%d' is under the minimum", a.num)
		}
		if a, ok := c.tags["seconds"]; ok && time.Duration(a.num)*time.Second < vacationMinPeriod {
			k.warnf(a.pos, "specified :seconds value '%d' is under the minimum", a.num)
		}
		if a, ok := c.tags["from"]; ok && !hasVar(a.strs[0], k) {
			if _, err := parseAddressList(a.strs[0]); err != nil {
				k.errf(a.pos, "specified :from address '%s' is invalid for vacation action%s", a.strs[0], addrDetail(a.strs[0]))
				return false
			}
		}
	case "redirect":
		a := c.args[0]
		if !hasVar(a.strs[0], k) {
			if _, err := parseAddrSpec(a.strs[0]); err != nil {
				k.errf(a.pos, "specified redirect address '%s' is invalid%s", a.strs[0], addrDetail(a.strs[0]))
				return false
			}
		}
	case "set":
		if !validVarName(c.args[0].strs[0], false) {
			k.errf(c.args[0].pos, "invalid variable name '%s'", c.args[0].strs[0])
			return false
		}
	case "setflag", "addflag", "removeflag":
		if c.args[0].kind == argStrings && !k.has("variables") {
			k.errf(c.args[0].pos, "the %s command only allows for the specification of a variable name when the variables extension is active", c.name)
			return false
		}
	case "hasflag":
		if c.args[0].kind == argStrings && !k.has("variables") {
			k.errf(c.args[0].pos, "the hasflag test expects a string list as argument 1")
			return false
		}
	case "envelope":
		for _, p := range c.args[0].strs {
			switch strings.ToLower(p) {
			case "from", "to", "auth":
			default:
				if !hasVar(p, k) {
					k.errf(c.args[0].pos, "specified envelope part '%s' is not supported by the envelope test", p)
					return false
				}
			}
		}
	case "address":
		for _, h := range c.args[0].strs {
			if !hasVar(h, k) && !addressHeader(h) {
				k.errf(c.args[0].pos, "specified header '%s' is not allowed for the address test", h)
				return false
			}
		}
	case "include":
		if err := k.include(c); err != nil {
			return false
		}
	case "global":
		for _, v := range c.args[0].strs {
			if !validVarName(v, false) {
				k.errf(c.args[0].pos, "invalid variable name '%s'", v)
				return false
			}
		}
	case "addheader", "deleteheader":
		name := c.args[0].strs[0]
		if !hasVar(name, k) && !validHeaderName(name) {
			k.errf(c.args[0].pos, "%s command: specified field name `%s' is invalid", c.name, name)
			return false
		}
		if c.name == "deleteheader" && c.args[1].kind == argStrings && c.mt == "count" {
			k.errf(c.pos, "the :count match type is not allowed for deleteheader")
			return false
		}
	case "notify":
		m := c.args[0].strs[0]
		if !hasVar(m, k) {
			if scheme, _, _ := strings.Cut(m, ":"); !strings.EqualFold(scheme, "mailto") {
				// Pigeonhole names the unknown scheme.
				k.errf(c.args[0].pos, "notify command: invalid method '%s'", scheme)
				return false
			}
			if _, err := parseMailtoURI(m); err != nil {
				k.errf(c.args[0].pos, "notify command: invalid method '%s': %v", m, err)
				return false
			}
		}
	}
	// Regexes with constant keys are compiled now.
	if c.mt == "regex" {
		keys := c.keyArg()
		if keys != nil {
			for _, s := range keys.strs {
				if hasVar(s, k) {
					c.regexes = nil
					break
				}
				re, err := compileRegex(s, c.cmp, k.cfg.limits.MaxRegexSize)
				if err != nil {
					k.errf(keys.pos, "invalid regular expression '%s' for regex match: %s", s, regexReason(err))
					return false
				}
				c.regexes = append(c.regexes, re)
			}
		}
	}
	return true
}

// keyArg returns the key-list argument of a matching test, or nil.
func (c *call) keyArg() *arg {
	switch c.name {
	case "address", "envelope", "header", "string", "hasflag", "date", "currentdate",
		"environment", "notify_method_capability", "body", "spamtest", "virustest":
		a := &c.args[len(c.args)-1]
		return a
	case "deleteheader":
		if c.args[1].kind == argStrings {
			return &c.args[1]
		}
	}
	return nil
}

// hasVar reports whether s would be expanded at run time.
func hasVar(s string, k *checker) bool {
	return k.has("variables") && strings.Contains(s, "${")
}

// addressHeader lists the headers RFC 5228 section 5.1 allows in the
// address test (those holding addresses), as Pigeonhole does.
func addressHeader(h string) bool {
	switch strings.ToLower(h) {
	case "from", "sender", "to", "cc", "bcc", "reply-to", "resent-from", "resent-sender",
		"resent-to", "resent-cc", "resent-bcc", "return-receipt-to", "disposition-notification-to",
		"x-envelope-from", "x-envelope-to", "delivered-to", "envelope-to", "errors-to",
		"in-reply-to", "mail-followup-to", "mail-reply-to", "x-original-to", "x-beenthere":
		return true
	}
	return false
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 32 || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}

func validVarName(s string, allowNum bool) bool {
	if s == "" {
		return false
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(isAlpha(c) || isDigit(c) && i > 0) {
				return false
			}
		}
	}
	return true
}

// namespaces refuses set's variable name in a namespace the script
// cannot use: only "global" with include, as Pigeonhole refuses it at
// compile time. (A reference such as "${foo.bar}" inside a string gets
// an error line from sievec but compiles, and expands to "".)
func (k *checker) namespaces(c *call) bool {
	if c.name != "set" || len(c.args) == 0 || c.args[0].kind != argStrings {
		return true
	}
	name := c.args[0].strs[0]
	ns, _, ok := strings.Cut(name, ".")
	if !ok || strings.EqualFold(ns, "global") && k.has("include") {
		return true
	}
	k.errf(c.args[0].pos, "referring to variable in unknown namespace '%s'", ns)
	return false
}
