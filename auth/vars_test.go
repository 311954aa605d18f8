package auth

import (
	"errors"
	"testing"
	"time"
)

// TestExpandFormatsTable checks the values FORMATS.md 5.2 gives for login
// "Vars.User@Example.ORG" after %Lu.
func TestExpandFormatsTable(t *testing.T) {
	v := Vars{"user": "vars.user@example.org", "service": "imap", "rip": "127.0.0.1", "home": "/h"}
	tests := map[string]string{
		"%u": "vars.user@example.org", "%{user}": "vars.user@example.org", "%n": "vars.user",
		"%{username}": "vars.user", "%d": "example.org", "%{domain}": "example.org", "%h": "/h",
		"%s": "imap", "%r": "127.0.0.1", "%Ln": "vars.user", "%Uu": "VARS.USER@EXAMPLE.ORG",
		"%1n": "v", "%2n": "va", "%1.1n": "a", "%Rn": "resu.srav", "%Mn": "962c2c0a8eaa5532bea717b3f70288f9",
		"%3Hn": "0", "%Dd": "example,dc=org", "%1Ln": "v", "%%": "%", "%L{user}": "vars.user@example.org",
		"/srv/mail/%d/%n/Maildir": "/srv/mail/example.org/vars.user/Maildir", "%%08Xu%%08Xv": "%08Xu%08Xv",
	}
	for in, want := range tests {
		got, err := Expand(in, v, nil)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, _ := Expand("%08Xu", Vars{"user": "255"}, nil); got != "000000ff" {
		t.Errorf("%%08Xu = %q", got)
	}
	if got, _ := Expand("%Lu", Vars{"user": "Vars.User@Example.ORG"}, nil); got != "vars.user@example.org" {
		t.Errorf("%%Lu = %q", got)
	}
	if got, _ := Expand(`%Eu`, Vars{"user": `a"b\`}, nil); got != `a\"b\\` {
		t.Errorf("%%Eu = %q", got)
	}
	for _, bad := range []string{"%", "%q", "%{user", "%{nosuch}", "%1L"} {
		if _, err := Expand(bad, v, nil); err == nil {
			t.Errorf("Expand(%q) accepted", bad)
		}
	}
}

// TestExpandBounded: a huge zero-padded width is filled in linear time
// (the fuzzer found a quadratic fill), and a template that would expand
// past 1 MiB is refused.
func TestExpandBounded(t *testing.T) {
	v := Vars{"user": "a"}
	start := time.Now()
	got, err := Expand("%01000000u", v, nil)
	if err != nil || len(got) != 1000000 || got[len(got)-1] != 'a' || got[0] != '0' {
		t.Fatalf("len %d, %v", len(got), err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a 1 MB pad took %v", d)
	}
	if _, err := Expand("%01000000u%01000000u", v, nil); !errors.Is(err, ErrBadTemplate) {
		t.Errorf("2 MB expansion: %v", err)
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%u", "%1.1n", "%3Hn", "%L{user}", "%08Xu", "%%", "%{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Expand(s, Vars{"user": "a.b@c.d", "home": "/x"}, nil)
	})
}
