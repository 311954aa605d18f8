package sieve

import (
	"regexp"
	"strings"
)

// strs expands the strings of a string-list argument.
func (r *run) strs(a arg) []string {
	if !r.varsOn() {
		return a.strs
	}
	out := make([]string, len(a.strs))
	for i, s := range a.strs {
		out[i] = r.expand(s)
	}
	return out
}

func (r *run) str(a arg) string {
	if len(a.strs) == 0 {
		return ""
	}
	return r.expand(a.strs[0])
}

// test evaluates a test.
func (r *run) test(c *call) (bool, error) {
	if err := r.step(c.pos); err != nil {
		return false, err
	}
	switch c.name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(c.tests[0])
		return !ok, err
	case "allof":
		for _, t := range c.tests {
			ok, err := r.test(t)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "anyof":
		for _, t := range c.tests {
			ok, err := r.test(t)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "exists":
		for _, h := range r.strs(c.args[0]) {
			if len(headerValues(r.headers, h)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "size":
		n := c.args[0].num
		if c.has("over") {
			return r.msg.size > n, nil
		}
		return r.msg.size < n, nil
	case "header":
		var vals []string
		for _, h := range r.strs(c.args[0]) {
			for _, v := range r.indexed(c, headerValues(r.headers, h)) {
				vals = append(vals, decodeHeader(v))
			}
		}
		return r.match(c, vals)
	case "address":
		var vals []string
		n := 0
		for _, h := range r.strs(c.args[0]) {
			if !addressHeader(h) {
				return false, r.fail(c.pos, "specified header '%s' is not allowed for the address test", h)
			}
			for _, v := range r.indexed(c, headerValues(r.headers, h)) {
				parts, count := r.addresses(c, v)
				vals = append(vals, parts...)
				n += count
			}
		}
		if c.mt == "count" {
			// :count counts addresses, whether or not the part exists.
			return countMatch(c, n, r.strs(*c.keyArg())), nil
		}
		return r.match(c, vals)
	case "envelope":
		var vals []string
		for _, p := range r.strs(c.args[0]) {
			var a string
			switch strings.ToLower(p) {
			case "from":
				a = r.env.Envelope.From
				if a == "" {
					// The null sender matches only "" under :all.
					if c.addrPart == "all" {
						vals = append(vals, "")
					}
					continue
				}
			case "to":
				a = r.env.Envelope.To
			case "auth":
				a = r.env.Envelope.Auth
				if a == "" {
					continue
				}
			default:
				continue
			}
			if v, ok := addressPart(a, c.addrPart, r.sep()); ok {
				vals = append(vals, v)
			}
		}
		return r.match(c, vals)
	case "string":
		vals := r.strs(c.args[0])
		if c.mt == "count" {
			var ne []string
			for _, v := range vals {
				if v != "" {
					ne = append(ne, v)
				}
			}
			vals = ne
		}
		return r.match(c, vals)
	case "hasflag":
		var flags []string
		if c.args[0].kind == argStrings {
			for _, v := range r.strs(c.args[0]) {
				flags = append(flags, splitFlags([]string{r.getVar(v)})...)
			}
		} else {
			flags = r.flags
		}
		return r.match(c, flags)
	case "body":
		return r.body(c)
	case "date", "currentdate":
		return r.dateTest(c)
	case "environment":
		v, ok := r.environment(strings.ToLower(r.str(c.args[0])))
		if !ok {
			return false, nil
		}
		return r.match(c, []string{v})
	case "mailboxexists":
		for _, m := range r.strs(c.args[0]) {
			if r.env.Mailboxes == nil || !r.env.Mailboxes.MailboxExists(r.ctx, m) {
				return false, nil
			}
		}
		return true, nil
	case "duplicate":
		return r.duplicate(c)
	case "valid_notify_method":
		for _, m := range r.strs(c.args[0]) {
			if _, err := parseMailtoURI(m); err != nil {
				return false, nil
			}
		}
		return true, nil
	case "notify_method_capability":
		m := r.str(c.args[0])
		if _, err := parseMailtoURI(m); err != nil {
			return false, nil
		}
		if strings.ToLower(r.str(c.args[1])) != "online" {
			return false, nil
		}
		return r.match(c, []string{"maybe"})
	case "spamtest", "virustest":
		v := r.env.SpamTest
		if c.name == "virustest" {
			v = r.env.VirusTest
		} else if c.has("percent") {
			v = r.env.SpamTestPercent
		}
		if v == "" {
			v = "0"
		}
		return r.match(c, []string{v})
	case "ihave":
		for _, e := range r.strs(c.args[0]) {
			if !r.script.enabled[strings.ToLower(e)] {
				return false, nil
			}
		}
		return true, nil
	}
	return false, r.fail(c.pos, "unknown test %s", c.name)
}

func (r *run) sep() string {
	if r.env.SubaddressSeparator != "" {
		return r.env.SubaddressSeparator
	}
	return "+"
}

// indexed applies :index/:last (RFC 5260 section 6).
func (r *run) indexed(c *call, vals []string) []string {
	a, ok := c.tags["index"]
	if !ok {
		return vals
	}
	i := int(a.num)
	if i <= 0 || i > len(vals) {
		return nil
	}
	if c.has("last") {
		return vals[len(vals)-i : len(vals)-i+1]
	}
	return vals[i-1 : i]
}

// addresses extracts the address parts an address test compares from
// one header value. A value that does not parse is compared whole
// under :all, as Pigeonhole does.
func (r *run) addresses(c *call, v string) ([]string, int) {
	list, err := r.parsedAddresses(v)
	if err != nil {
		if strings.TrimSpace(v) == "" {
			return nil, 0
		}
		if c.addrPart == "all" {
			return []string{decodeHeader(v)}, 1
		}
		return nil, 1
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		if p, ok := addressPart(a, c.addrPart, r.sep()); ok {
			out = append(out, p)
		}
	}
	return out, len(list)
}

// match compares values against the test's keys.
func (r *run) match(c *call, vals []string) (bool, error) {
	ka := c.keyArg()
	keys := r.strs(*ka)
	if c.mt == "count" {
		return countMatch(c, len(vals), keys), nil
	}
	wantCaps := r.varsOn() && (c.mt == "matches" || c.mt == "regex")
	res := c.regexes
	if c.mt == "regex" && res == nil {
		res = make([]*regexp.Regexp, len(keys))
		for i, k := range keys {
			re, err := compileRegex(k, c.cmp, r.limits.MaxRegexSize)
			if err != nil {
				return false, r.fail(c.pos, "invalid regular expression '%s': %v", k, err)
			}
			res[i] = re
		}
	}
	for _, v := range vals {
		for i, k := range keys {
			var re *regexp.Regexp
			if res != nil {
				re = res[i]
			}
			ok, caps := matchOne(c, v, k, re, wantCaps)
			if ok {
				r.setMatchVars(caps)
				return true, nil
			}
		}
	}
	return false, nil
}

// environment returns an environment item (RFC 5183).
func (r *run) environment(name string) (string, bool) {
	if v, ok := r.env.Environment[name]; ok {
		return v, true
	}
	switch name {
	case "name":
		return "yubin Sieve", true
	case "version":
		return "1.0", true
	case "location":
		return "MDA", true
	case "phase":
		return "during", true
	case "domain", "host":
		return "localhost", true
	}
	return "", false
}

// parsedAddresses parses an address header value once per run: rules
// often test the same header many times.
func (r *run) parsedAddresses(v string) ([]string, error) {
	if e, ok := r.addrCache[v]; ok {
		return e.list, e.err
	}
	list, err := parseAddressList(unfold(v))
	if r.addrCache == nil {
		r.addrCache = map[string]addrEntry{}
	}
	if len(r.addrCache) < 256 {
		r.addrCache[v] = addrEntry{list, err}
	}
	return list, err
}

type addrEntry struct {
	list []string
	err  error
}
