package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var classSchema = NewSchema([]Param{
	{Name: "smtpd_restriction_classes", Default: "", Kind: List, Defines: true},
	{Name: "smtpd_recipient_restrictions", Default: "reject_unauth_destination"},
	{Name: "mynetworks", Default: "127.0.0.0/8"},
}, []string{"smtp", "submission"})

// TestDefinesAcceptsListedNames: the names smtpd_restriction_classes
// lists may be set as parameters (globally or per service) and read
// and expanded like declared ones; other unknown names stay errors.
func TestDefinesAcceptsListedNames(t *testing.T) {
	c, err := classSchema.Parse("main.cf", strings.NewReader(`smtpd_restriction_classes = from_freemail, trusted_only
from_freemail = check_sender_access hash:/etc/postfix/freemail, $trusted_only
trusted_only = permit_mynetworks, reject
submission/trusted_only = reject
smtpd_recipient_restrictions = check_recipient_access hash:/etc/postfix/protected
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Defined(), []string{"from_freemail", "trusted_only"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Defined() = %q, want %q", got, want)
	}
	if got := c.Get("from_freemail"); got != "check_sender_access hash:/etc/postfix/freemail, permit_mynetworks, reject" {
		t.Errorf("from_freemail = %q", got)
	}
	if got := c.Service("submission").Get("trusted_only"); got != "reject" {
		t.Errorf("submission/trusted_only = %q", got)
	}
	var keys []string
	for _, st := range c.NonDefault() {
		keys = append(keys, st.Key())
	}
	if want := []string{"from_freemail", "smtpd_recipient_restrictions", "smtpd_restriction_classes", "trusted_only", "submission/trusted_only"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("NonDefault keys %q, want %q", keys, want)
	}
	l := NewReadLog()
	c.WithReadLog(l).Get("smtpd_restriction_classes")
	var unused []string
	for _, st := range l.Unused(c) {
		unused = append(unused, st.Key())
	}
	if want := []string{"from_freemail", "trusted_only", "submission/trusted_only", "smtpd_recipient_restrictions"}; !reflect.DeepEqual(unused, want) {
		t.Errorf("Unused %q, want %q", unused, want)
	}
	_, err = classSchema.Parse("main.cf", strings.NewReader("smtpd_restriction_classes = a\nb = reject\n"))
	if err == nil || !strings.Contains(err.Error(), `main.cf:2: unknown parameter "b"`) {
		t.Errorf("a name no class list names: %v", err)
	}
}

// FuzzParseDefines: files that define restriction classes, refer to
// them and override them per service parse to a Config or an
// ErrorList, never a panic; reading every name through a ReadLog and
// asking for the unused settings works on whatever parsed.
func FuzzParseDefines(f *testing.F) {
	for _, s := range []string{
		"smtpd_restriction_classes = a, b\na = reject\nb = $a\nsubmission/b = permit\n",
		"smtpd_restriction_classes = a\nsmtpd_restriction_classes = b\na = x\n",
		"smtpd_restriction_classes = mynetworks a\na = $a\n",
		"smtpd_restriction_classes = ${x\n",
		"submission/smtpd_restriction_classes = c\nc = 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := classSchema.Parse("fuzz.cf", strings.NewReader(s))
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %v", err)
			}
			return
		}
		l := NewReadLog()
		v := c.WithReadLog(l)
		for _, n := range append(v.Defined(), "smtpd_restriction_classes", "smtpd_recipient_restrictions", "mynetworks") {
			v.Get(n)
			v.Service("submission").Get(n)
		}
		for _, st := range l.Unused(c) {
			if st.Name == "" {
				t.Fatalf("unused setting without a name: %+v", st)
			}
		}
		c.NonDefault()
	})
}
