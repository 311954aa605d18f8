package ldap

import (
	"bytes"
	"testing"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// filterTemplates are pass_filter-like templates: variables in values,
// in substrings, in extensible matches, next to literals, and where the
// template cannot be used (attribute names, the marker in the text).
var filterTemplates = []string{
	"(&(objectClass=posixAccount)(uid=%n))", "(uid=%u)", "(mail=%n@%d)", "(|(uid=%n)(mail=%u))",
	"(cn=*%n*)", "(cn=%n*)", "(cn=*%n)", "(cn=a*%n*b*%d)", "(!(uid=%n))", "(uidNumber>=%n)", "(uidNumber<=%n)",
	"(cn~=%n)", "(cn:caseExactMatch:=%n)", "(cn:dn:2.5.13.5:=%u)", "(&(uid=%Ln)(host=%s)(ip=%{rip}))",
	"(uid=%1.3n)", "(uid=%Mn)", "(uid=%n%n)", "(%{service}=%n)", "(uid=yUbInVaR0Q%n)", "(objectClass=*)",
	"(&(uid=%n)(|(a=*)(b=%d)))", "(uid=%-2n)",
}

var filterUsers = []string{
	"alice", "alice@example.com", "a*b", "a(b)c", `a\b`, "x)(uid=*", "*", "Ünïcödé@例え.jp", "\xff\xfe", "a\x00b",
	"@", "a@", "@b", "yUbInVaR0Q", "  ", "é",
}

// TestFilterTemplateMatchesCompile: the template's encoding is, byte for
// byte, what compiling the escaped text gives, for every template and
// user, and an unusable template still gives it.
func TestFilterTemplateMatchesCompile(t *testing.T) {
	used := 0
	for _, tmpl := range filterTemplates {
		f, err := newFilterTmpl(tmpl)
		if err != nil {
			t.Fatalf("%q: %v", tmpl, err)
		}
		if f.root != nil {
			used++
		}
		for _, u := range filterUsers {
			v := auth.Vars{"user": u, "service": "imap", "rip": "192.0.2.1"}
			checkFilter(t, f, v)
		}
	}
	if used < len(filterTemplates)-4 {
		t.Errorf("only %d of %d templates compiled once", used, len(filterTemplates))
	}
	for _, tmpl := range []string{"(%{service}=%n)", "(uid=yUbInVaR0Q%n)"} {
		if f, _ := newFilterTmpl(tmpl); f.root != nil {
			t.Errorf("%q: a variable outside a value, or the marker in the text, must not be templated", tmpl)
		}
	}
	for _, tmpl := range []string{"uid=%n", "(uid=%n", "(uid=%q)"} {
		if _, err := newFilterTmpl(tmpl); err == nil {
			t.Errorf("%q: accepted", tmpl)
		}
	}
}

func checkFilter(t *testing.T, f *filterTmpl, v auth.Vars) {
	t.Helper()
	got, gerr := f.appendTo(nil, v)
	var want []byte
	x, werr := auth.Expand(f.tmpl.String(), v, ldapc.EscapeFilter)
	if werr == nil {
		var p interface{ Bytes() []byte }
		if p, werr = ldapc.CompileFilter(x); werr == nil {
			want = p.Bytes()
		}
	}
	if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Errorf("%q with %q: %x, %v; compiling %q gives %x, %v", f.tmpl.String(), v["user"], got, gerr, x, want, werr)
	}
}

// FuzzFilterTemplate: for any template that compiles and any user name,
// the template's encoding is what compiling the escaped text gives.
func FuzzFilterTemplate(f *testing.F) {
	for i, tmpl := range filterTemplates {
		f.Add(tmpl, filterUsers[i%len(filterUsers)])
	}
	f.Fuzz(func(t *testing.T, tmpl, user string) {
		ft, err := newFilterTmpl(tmpl)
		if err != nil {
			return
		}
		checkFilter(t, ft, auth.Vars{"user": user, "service": "pop3"})
	})
}
