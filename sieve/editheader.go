package sieve

import (
	"mime"
	"strings"
)

// protectedHeader lists fields editheader may not change (RFC 5293
// section 7; Pigeonhole protects these by default).
func protectedHeader(name string) bool {
	return strings.EqualFold(name, "received") || strings.EqualFold(name, "auto-submitted")
}

// editHeader runs addheader and deleteheader (RFC 5293).
func (r *run) editHeader(c *call) error {
	name := r.str(c.args[0])
	if !validHeaderName(name) {
		return r.fail(c.pos, "%s: invalid header field name '%s'", c.name, name)
	}
	if protectedHeader(name) {
		return nil
	}
	hs := append([]Header(nil), r.headers...)
	switch c.name {
	case "addheader":
		val := r.str(c.args[1])
		val = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(val)
		if len(val) > 1024 {
			val = val[:1024]
		}
		h := Header{Name: name, Value: " " + encodeHeaderValue(val)}
		if c.has("last") {
			hs = append(hs, h)
		} else {
			hs = append([]Header{h}, hs...)
		}
	case "deleteheader":
		var patterns []string
		if c.args[1].kind == argStrings {
			patterns = r.strs(c.args[1])
		}
		var idx []int
		for i, h := range hs {
			if strings.EqualFold(h.Name, name) {
				idx = append(idx, i)
			}
		}
		if a, ok := c.tags["index"]; ok {
			n := int(a.num)
			if n <= 0 || n > len(idx) {
				return nil
			}
			if c.has("last") {
				idx = idx[len(idx)-n : len(idx)-n+1]
			} else {
				idx = idx[n-1 : n]
			}
		}
		del := map[int]bool{}
		for _, i := range idx {
			if patterns == nil {
				del[i] = true
				continue
			}
			v := decodeHeader(hs[i].Value)
			for _, p := range patterns {
				var ok bool
				if c.mt == "regex" {
					re, err := compileRegex(p, c.cmp, r.limits.MaxRegexSize)
					if err != nil {
						return r.fail(c.pos, "deleteheader: invalid regular expression '%s'", p)
					}
					ok = re.MatchString(v)
				} else {
					ok, _ = matchOne(c, v, p, nil, false)
				}
				if ok {
					del[i] = true
					break
				}
			}
		}
		out := hs[:0]
		for i, h := range hs {
			if !del[i] {
				out = append(out, h)
			}
		}
		hs = out
	}
	r.headers = hs
	r.edited = true
	return nil
}

// encodeHeaderValue encodes non-ASCII text as RFC 2047 words.
func encodeHeaderValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return mime.QEncoding.Encode("utf-8", v)
		}
	}
	return v
}
