package varexpand

import (
	"errors"
	"strings"
	"testing"
)

var testSyntax = Syntax{Short: map[byte]string{'u': "user", 'n': "username", 'f': "file"}}

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// TestExpand: the syntax both of Dovecot's users share, as Dovecot 2.3
// expands it (values from FORMATS.md 5.2 and 7).
func TestExpand(t *testing.T) {
	vals := lookupIn(map[string]string{"user": "vars.user@example.org", "username": "vars.user", "file": "1795325161.M264479P20900.vm,S=163,W=171", "num": "1795325161", "sp": "a \t\r\n"})
	cases := map[string]string{
		"%u": "vars.user@example.org", "%{user}": "vars.user@example.org", "%Uu": "VARS.USER@EXAMPLE.ORG",
		"%1n": "v", "%2n": "va", "%1.1n": "a", "%Rn": "resu.srav", "%Mn": "962c2c0a8eaa5532bea717b3f70288f9",
		"%3Hn": "0", "%D{user}": "vars,dc=user@example,dc=org", "%1Ln": "v", "%%": "%", "100%%-%n": "100%-vars.user",
		"%X{num}": "6b027ce9", "%XU{num}": "6B027CE9", "%UX{num}": "6b027ce9", "%Xn": "0",
		"%5f": "17953", "%3.4f": "5325", "%-3.3f": "171", "%-3f": "1795325161.M264479P20900.vm,S=163,W=171",
		"x%04{num}y": "x1795325161y", "%012{num}": "001795325161", "%9.9n": "", "%99.1n": "",
		"%T{sp}|": "a|", `%E{q}`: `a\"b\\\'`,
		"/srv/mail/%n/Maildir": "/srv/mail/vars.user/Maildir",
	}
	vals2 := func(name string) (string, bool) {
		if name == "q" {
			return `a"b\'`, true
		}
		return vals(name)
	}
	for in, want := range cases {
		tmpl, err := Parse(in, testSyntax)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		got, err := tmpl.Expand(vals2, nil, 0)
		if err != nil || got != want {
			t.Errorf("%q = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"%", "%q", "%{user", "%{}", "%1L", "%-", "%08X"} {
		if _, err := Parse(bad, testSyntax); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v, want ErrSyntax", bad, err)
		}
	}
	tmpl, _ := Parse("%{nosuch}", testSyntax)
	if _, err := tmpl.Expand(vals, nil, 0); !errors.Is(err, ErrSyntax) {
		t.Errorf("unknown long name: %v", err)
	}
}

// TestExpandEscapeAndLimit: escape sees each value after its width, not
// the literal text; a result over the limit is refused; a huge width
// saturates at MaxWidth.
func TestExpandEscapeAndLimit(t *testing.T) {
	tmpl, err := Parse("uid='%3u'", testSyntax)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Expand(lookupIn(map[string]string{"user": "o'brien"}), func(s string) string { return strings.ReplaceAll(s, "'", "''") }, 0)
	if err != nil || got != "uid='o''b'" {
		t.Errorf("got %q, %v", got, err)
	}
	tmpl, _ = Parse("%0999999999u", Syntax{Short: testSyntax.Short, MaxWidth: 100})
	got, _ = tmpl.Expand(lookupIn(map[string]string{"user": "a"}), nil, 0)
	if len(got) != 100 {
		t.Errorf("saturated width gave %d bytes", len(got))
	}
	if _, err := tmpl.Expand(lookupIn(map[string]string{"user": "a"}), nil, 50); !errors.Is(err, ErrSyntax) {
		t.Errorf("over the limit: %v", err)
	}
}

func FuzzParseExpand(f *testing.F) {
	for _, s := range []string{"%u", "%1.1n", "%3Hn", "%L{user}", "%08Xu", "%%", "%{", "%-3.3f", "%-99.99Rf", "%0.-5u"} {
		f.Add(s, "a.b@c.d")
	}
	f.Fuzz(func(t *testing.T, tmpl, val string) {
		p, err := Parse(tmpl, Syntax{Short: testSyntax.Short, MaxWidth: 1000})
		if err != nil {
			return
		}
		out, err := p.Expand(func(string) (string, bool) { return val, true }, nil, 1<<16)
		if err == nil && len(out) > 1<<16 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
	})
}
