package table

import (
	"context"
	"testing"
)

func FuzzParseHash(f *testing.F) {
	f.Add("a OK\n b\n# c\nKEY value\n")
	f.Fuzz(func(t *testing.T, src string) {
		h, err := ParseHash([]byte(src), "fuzz")
		if err == nil {
			h.Lookup(context.Background(), "a")
		}
	})
}

func FuzzParseCIDR(f *testing.F) {
	f.Add("192.0.2.0/24 OK\nif !10.0.0.0/8\n[2001:db8::]/32 x\nendif\n", "192.0.2.1")
	f.Add("1.2.3.4/33 x\n::ffff:1.2.3.0/120 y\n", "::ffff:1.2.3.4")
	f.Fuzz(func(t *testing.T, src, key string) {
		c, err := ParseCIDR([]byte(src), "fuzz")
		if err == nil {
			c.Lookup(context.Background(), key)
		}
	})
}

func FuzzParseRegexp(f *testing.F) {
	f.Add("/^(a|ab)(c|bcd)(d*)$/ x $1 ${2} $(3) $$\nif !/^X/\n/b/i y\nendif\n", "abcd", false)
	f.Add("/a b # c/x z\n/(?<n>x)/ y\n", "ab", true)
	f.Fuzz(func(t *testing.T, src, key string, pcre bool) {
		r, err := ParseRegexp([]byte(src), "fuzz", pcre)
		if err == nil {
			r.Lookup(context.Background(), key)
		}
	})
}

func FuzzParseAliases(f *testing.F) {
	f.Add("sysadmin: gacanepa, jdoe\n\"a b\": c,\n  d\nx: :include:/dev/null\n")
	f.Add("p: \"|/bin/cat\"\nq: /tmp/f\n")
	f.Fuzz(func(t *testing.T, src string) {
		a, err := ParseAliases([]byte(src), "fuzz", AliasOptions{AllowCommands: true, AllowFiles: true, ForbidInclude: true})
		if err == nil {
			v, ok, _ := a.Lookup(context.Background(), "sysadmin")
			if ok {
				SplitTargets(v)
			}
		}
	})
}

func FuzzParseInline(f *testing.F) {
	f.Add("{ a=b, { c = d e }, f=g }")
	f.Fuzz(func(t *testing.T, src string) {
		if h, err := ParseInline(src); err == nil {
			h.Lookup(context.Background(), "a")
		}
	})
}
