package sieve

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// TestScoreConfig computes spamtest or virustest values from a scanner's
// header as Pigeonhole's sieve_spamtest_* / sieve_virustest_* settings
// do (RFC 5235).
type TestScoreConfig struct {
	// Type is "score" (a number), "strlen" (the length of a run of
	// characters such as "*****") or "text" (TextValues).
	Type string
	// Header is the header field to read, with an optional regex after
	// a colon whose first group captures the value: "X-Spam-Score" or
	// "X-Spam-Status: score=([-0-9.]+)".
	Header string
	// MaxValue is the score that maps to 10 (100%).
	MaxValue float64
	// TextValues maps text values to the result 0..10 (type text).
	TextValues map[string]int
}

// ParseTestHeader splits a Pigeonhole status header setting into the
// field name and compiled regex (nil when none).
func ParseTestHeader(s string) (string, *regexp.Regexp, error) {
	name, re, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || strings.TrimSpace(re) == "" {
		return name, nil, nil
	}
	r, err := regexp.Compile(strings.TrimSpace(re))
	return name, r, err
}

// Values returns the test's value "0".."10" ("0": not tested) and the
// :percent value "0".."100" for msg.
func (c *TestScoreConfig) Values(msg *Message) (value, percent string) {
	name, re, err := ParseTestHeader(c.Header)
	if err != nil || name == "" {
		return "0", "0"
	}
	vals := headerValues(msg.headers, name)
	if len(vals) == 0 {
		return "0", "0"
	}
	v := unfold(vals[0])
	if re != nil {
		m := re.FindStringSubmatch(v)
		if m == nil {
			return "0", "0"
		}
		if len(m) > 1 {
			v = m[1]
		} else {
			v = m[0]
		}
	}
	switch c.Type {
	case "text":
		for k, n := range c.TextValues {
			if strings.EqualFold(k, v) {
				n = max(0, min(10, n))
				return strconv.Itoa(n), strconv.Itoa(n * 10)
			}
		}
		return "0", "0"
	case "strlen":
		return c.scale(float64(len(v)))
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "0", "0"
	}
	return c.scale(f)
}

// scale maps a score to 1..10 and 0..100 as Pigeonhole does: 1 + 9 *
// score/max and 100 * score/max, truncated and clipped.
func (c *TestScoreConfig) scale(f float64) (string, string) {
	if c.MaxValue <= 0 {
		return "0", "0"
	}
	r := max(0, min(1, f/c.MaxValue))
	return strconv.Itoa(int(1 + 9*r)), strconv.Itoa(int(100 * r))
}
