package sieve

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// compileRegex compiles a :regex key as POSIX extended syntax would
// match it: '.' matches newlines and i;ascii-casemap ignores case.
// RE2 runs in time linear in the input, so no pattern can explode.
func compileRegex(pat, cmp string, max int) (*regexp.Regexp, error) {
	if len(pat) > max {
		return nil, fmt.Errorf("pattern longer than %d bytes", max)
	}
	flags := "(?s)"
	if cmp == "i;ascii-casemap" {
		flags = "(?si)"
	}
	return regexp.Compile(flags + pat)
}

// numericKey returns the value i;ascii-numeric gives s (RFC 4790
// section 9.1.1): its leading digits, or ok=false for "positive infinity".
func numericKey(s string) (string, bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return "", false
	}
	d := strings.TrimLeft(s[:i], "0")
	return d, true
}

// cmpNumeric orders two strings under i;ascii-numeric.
func cmpNumeric(a, b string) int {
	na, oka := numericKey(a)
	nb, okb := numericKey(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return 1
	case !okb:
		return -1
	}
	if len(na) != len(nb) {
		if len(na) < len(nb) {
			return -1
		}
		return 1
	}
	return strings.Compare(na, nb)
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// order compares two values under a comparator.
func order(cmp, a, b string) int {
	switch cmp {
	case "i;ascii-numeric":
		return cmpNumeric(a, b)
	case "i;ascii-casemap":
		// Pigeonhole folds to lower case (RFC 4790 says upper); the
		// order differs for "[\]^_`", and Pigeonhole is the reference.
		return strings.Compare(lowerASCII(a), lowerASCII(b))
	}
	return strings.Compare(a, b)
}

func relHolds(rel string, c int) bool {
	switch rel {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	// Scan for the first byte (either case), then compare the rest.
	first := sub[0]
	letter := first|0x20 >= 'a' && first|0x20 <= 'z'
	if letter {
		first |= 0x20
	}
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if letter {
			c |= 0x20
		}
		if c == first && equalFoldASCII(s[i+1:i+n], sub[1:]) {
			return true
		}
	}
	return false
}

// globMatch matches :matches wildcards ('*', '?', '\' escapes),
// returning the wildcard captures on success. Iterative with
// backtracking on the last '*' only per segment: O(len(s)*len(pat)).
func globMatch(s, pat string, fold bool, wantCaps bool) (bool, []string) {
	eq := func(a, b byte) bool {
		if a == b {
			return true
		}
		if fold {
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			return a == b
		}
		return false
	}
	// Tokenise the pattern.
	type tok struct {
		kind byte // 'c' literal, '*', '?'
		c    byte
	}
	toks := make([]tok, 0, len(pat))
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '*':
			toks = append(toks, tok{kind: '*'})
		case '?':
			toks = append(toks, tok{kind: '?'})
		case '\\':
			if i+1 < len(pat) {
				i++
			}
			toks = append(toks, tok{kind: 'c', c: pat[i]})
		default:
			toks = append(toks, tok{kind: 'c', c: pat[i]})
		}
	}
	if !wantCaps {
		si, ti := 0, 0
		starT, starS := -1, 0
		for si < len(s) {
			if ti < len(toks) && (toks[ti].kind == '?' || toks[ti].kind == 'c' && eq(toks[ti].c, s[si])) {
				si++
				ti++
			} else if ti < len(toks) && toks[ti].kind == '*' {
				starT, starS = ti, si
				ti++
			} else if starT >= 0 {
				starS++
				si = starS
				ti = starT + 1
			} else {
				return false, nil
			}
		}
		for ti < len(toks) && toks[ti].kind == '*' {
			ti++
		}
		return ti == len(toks), nil
	}
	// With captures: same greedy-last-star algorithm, recording spans.
	// RFC 5229: each '*' captures as little as possible? No: "the
	// substring matched by the wildcard"; Pigeonhole matches '*' lazily
	// except the last one. We record the positions of each wildcard.
	type span struct{ a, b int }
	caps := make([]span, 0, 8)
	si, ti := 0, 0
	starT, starS := -1, 0
	starCaps := 0
	for si < len(s) {
		if ti < len(toks) && toks[ti].kind == '?' {
			caps = append(caps, span{si, si + 1})
			si++
			ti++
		} else if ti < len(toks) && toks[ti].kind == 'c' && eq(toks[ti].c, s[si]) {
			si++
			ti++
		} else if ti < len(toks) && toks[ti].kind == '*' {
			starT, starS = ti, si
			starCaps = len(caps)
			caps = append(caps, span{si, si})
			ti++
		} else if starT >= 0 {
			starS++
			si = starS
			ti = starT + 1
			caps = caps[:starCaps+1]
			caps[starCaps].b = si
		} else {
			return false, nil
		}
	}
	for ti < len(toks) && toks[ti].kind == '*' {
		caps = append(caps, span{si, si})
		ti++
	}
	if ti != len(toks) {
		return false, nil
	}
	out := make([]string, 0, len(caps)+1)
	out = append(out, s)
	for _, c := range caps {
		out = append(out, s[c.a:c.b])
	}
	return true, out
}

// matchOne applies a match type to one value and one key.
func matchOne(c *call, val, key string, re *regexp.Regexp, wantCaps bool) (bool, []string) {
	fold := c.cmp == "i;ascii-casemap"
	switch c.mt {
	case "is":
		switch c.cmp {
		case "i;ascii-casemap":
			return equalFoldASCII(val, key), nil
		case "i;ascii-numeric":
			return cmpNumeric(val, key) == 0, nil
		}
		return val == key, nil
	case "contains":
		if fold {
			return containsFold(val, key), nil
		}
		return strings.Contains(val, key), nil
	case "matches":
		return globMatch(val, key, fold, wantCaps)
	case "regex":
		if re == nil {
			return false, nil
		}
		if !wantCaps {
			return re.MatchString(val), nil
		}
		m := re.FindStringSubmatch(val)
		if m == nil {
			return false, nil
		}
		return true, m
	case "value":
		return relHolds(c.rel, order(c.cmp, val, key)), nil
	}
	return false, nil
}

// countMatch applies :count to the number of values.
func countMatch(c *call, n int, keys []string) bool {
	v := strconv.Itoa(n)
	for _, k := range keys {
		if relHolds(c.rel, order(c.cmp, v, k)) {
			return true
		}
	}
	return false
}
