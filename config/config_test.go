package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testSchema = NewSchema([]Param{
	{Name: "myhostname", Default: "localhost"},
	{Name: "mydomain", Default: "localdomain"},
	{Name: "myorigin", Default: "$myhostname"},
	{Name: "mydestination", Default: "$myhostname, localhost.$mydomain, localhost", Kind: List},
	{Name: "smtpd_sasl_auth_enable", Default: "no", Kind: Bool},
	{Name: "smtpd_recipient_restrictions", Default: "permit_mynetworks, reject_unauth_destination", Kind: List},
	{Name: "message_size_limit", Default: "10240000", Kind: Int},
	{Name: "anvil_rate_time_unit", Default: "60s", Kind: Duration},
	{Name: "ssl_cert", Default: ""},
	{Name: "smtpd_banner", Default: "$myhostname ESMTP${mail_name?{ $mail_name}}"},
	{Name: "mail_name", Default: "yubin"},
	{Name: "relay_note", Default: "${relayhost:direct}"},
	{Name: "relayhost", Default: ""},
	{Name: "loop_a", Default: "x"},
	{Name: "loop_b", Default: "y"},
	{Name: "stress", Default: ""},
	{Name: "hard_limit", Default: "${stress?{1}:{20}}", Kind: Int},
	{Name: "rbl_code", Runtime: true},
	{Name: "rbl_reply", Default: "$rbl_code blocked${stress?{ under stress}}"},
}, []string{"smtp", "submission", "submissions"})

func parse(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return testSchema.Parse("main.cf", strings.NewReader(text))
}

func TestParseContinuationCommentsExpansion(t *testing.T) {
	c, err := parse(t, `# Postfix-style file
myhostname = mail.example.jp
mydomain = example.jp
mydestination = $myhostname, localhost.$mydomain,
	localhost, ${mydomain}
  # an indented comment does not end the value

smtpd_recipient_restrictions =
    permit_mynetworks,
    reject_unauth_destination
message_size_limit = 10485760
anvil_rate_time_unit = 2m
smtpd_banner = $(myhostname) ESMTP # not a comment
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("myorigin"); got != "mail.example.jp" {
		t.Errorf("myorigin = %q", got)
	}
	want := []string{"mail.example.jp", "localhost.example.jp", "localhost", "example.jp"}
	if got := c.List("mydestination"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("mydestination = %q, want %q", got, want)
	}
	if got := c.List("smtpd_recipient_restrictions"); len(got) != 2 || got[1] != "reject_unauth_destination" {
		t.Errorf("restrictions = %q", got)
	}
	if c.Int("message_size_limit") != 10485760 {
		t.Errorf("message_size_limit = %d", c.Int("message_size_limit"))
	}
	if c.Duration("anvil_rate_time_unit") != 2*time.Minute {
		t.Errorf("anvil_rate_time_unit = %v", c.Duration("anvil_rate_time_unit"))
	}
	if got := c.Get("smtpd_banner"); got != "mail.example.jp ESMTP # not a comment" {
		t.Errorf("smtpd_banner = %q", got)
	}
	if p := c.Pos("mydestination"); p.String() != "main.cf:4" {
		t.Errorf("pos = %v", p)
	}
}

func TestConditionalExpansion(t *testing.T) {
	c, err := parse(t, "mail_name =\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("smtpd_banner"); got != "localhost ESMTP" {
		t.Errorf("banner with empty mail_name = %q", got)
	}
	if got := c.Get("relay_note"); got != "direct" {
		t.Errorf("relay_note = %q", got)
	}
	c, _ = parse(t, "relayhost = [smtp.example.jp]\n")
	if got := c.Get("relay_note"); got != "" {
		t.Errorf("relay_note with relayhost = %q", got)
	}
	if got := c.Get("smtpd_banner"); got != "localhost ESMTP yubin" {
		t.Errorf("banner = %q", got)
	}
}

func TestPostfix3Conditionals(t *testing.T) {
	c, err := parse(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("hard_limit"); got != "20" {
		t.Errorf("hard_limit = %q", got)
	}
	if got := c.Get("rbl_reply"); got != "$rbl_code blocked" {
		t.Errorf("rbl_reply = %q", got)
	}
	c, _ = parse(t, "stress = yes\n")
	if got := c.Get("hard_limit"); got != "1" {
		t.Errorf("hard_limit under stress = %q", got)
	}
	if got := c.Get("rbl_reply"); got != "$rbl_code blocked under stress" {
		t.Errorf("rbl_reply under stress = %q", got)
	}
	if _, err := parse(t, "rbl_code = 554\n"); err == nil {
		t.Error("setting a run-time name was accepted")
	}
}

func TestUnknownParameterHint(t *testing.T) {
	_, err := parse(t, "myhostname = a\n\nmydestinaton = b\nfrobnicate = 1\n")
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("err = %v", err)
	}
	if got := list[0].Error(); got != `main.cf:3: unknown parameter "mydestinaton" (did you mean "mydestination"?)` {
		t.Errorf("first error = %s", got)
	}
	if got := list[1].Error(); got != `main.cf:4: unknown parameter "frobnicate"` {
		t.Errorf("second error = %s", got)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"  leading = continuation\n", "main.cf:1: continuation line without a parameter before it"},
		{"myhostname\n", `main.cf:1: missing '=' after parameter name "myhostname"`},
		{"smtpd_sasl_auth_enable = maybe\n", "main.cf:1: smtpd_sasl_auth_enable = maybe: not a boolean"},
		{"message_size_limit = 10M\n", "main.cf:1: message_size_limit = 10M: not an integer"},
		{"anvil_rate_time_unit = soon\n", "main.cf:1: anvil_rate_time_unit = soon: not a time value"},
		{"myorigin = $myhostnam\n", "main.cf:1: myorigin: reference to unknown parameter $myhostnam (did you mean $myhostname?)"},
		{"loop_a = $loop_b\nloop_b = $loop_a\n", "main.cf:1: loop_a: parameter references nested more than"},
		{"myorigin = ${myhostname\n", `main.cf:1: myorigin: missing '}'`},
		{"submision/smtpd_sasl_auth_enable = yes\n", `main.cf:1: unknown service "submision" (did you mean "submission"?)`},
		{"a/b/c/d = 1\n", "main.cf:1: bad per-service parameter"},
		{"my hostname = x\n", `main.cf:1: bad parameter name "my hostname"`},
		{"submission/smtpd_sasl_auth_enable = perhaps\n", "main.cf:1: smtpd_sasl_auth_enable = perhaps: not a boolean"},
	} {
		_, err := parse(t, tc.text)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want prefix %q", tc.text, err, tc.want)
		}
	}
}

func TestServiceOverrides(t *testing.T) {
	c, err := parse(t, `smtpd_sasl_auth_enable = no
submission/smtpd_sasl_auth_enable = yes
submission/smtpd_recipient_restrictions = permit_sasl_authenticated,reject
submissions/inet/smtpd_sasl_auth_enable = yes
myhostname = mx.example.jp
submission/myhostname = smtp.example.jp
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bool("smtpd_sasl_auth_enable") || c.Service("smtp").Bool("smtpd_sasl_auth_enable") {
		t.Error("AUTH enabled globally or on smtp")
	}
	sub := c.Service("submission")
	if !sub.Bool("smtpd_sasl_auth_enable") || !c.Service("submissions").Bool("smtpd_sasl_auth_enable") {
		t.Error("AUTH not enabled on submission(s)")
	}
	if got := sub.List("smtpd_recipient_restrictions"); len(got) != 2 || got[0] != "permit_sasl_authenticated" {
		t.Errorf("submission restrictions = %q", got)
	}
	// $myhostname resolves in the service's view, as in Postfix.
	if got := sub.Get("myorigin"); got != "smtp.example.jp" {
		t.Errorf("submission myorigin = %q", got)
	}
	if got := c.Get("myorigin"); got != "mx.example.jp" {
		t.Errorf("global myorigin = %q", got)
	}
	var keys []string
	for _, s := range c.NonDefault() {
		keys = append(keys, s.Key())
	}
	want := "myhostname submission/myhostname submission/smtpd_recipient_restrictions submission/smtpd_sasl_auth_enable submissions/smtpd_sasl_auth_enable"
	if strings.Join(keys, " ") != want {
		t.Errorf("NonDefault = %q", keys)
	}
}

func TestContentsFileForm(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pem, []byte("CERT DATA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, "mydomain = "+dir+"\nssl_cert = <$mydomain/cert.pem\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Contents("ssl_cert")
	if err != nil || string(b) != "CERT DATA\n" {
		t.Fatalf("Contents = %q, %v", b, err)
	}
	if c.FileOf("ssl_cert") != pem {
		t.Errorf("FileOf = %q", c.FileOf("ssl_cert"))
	}
	c, _ = parse(t, "ssl_cert = inline\n")
	if b, _ := c.Contents("ssl_cert"); string(b) != "inline" {
		t.Errorf("inline Contents = %q", b)
	}
}

func TestExtraSettingsOverrideFile(t *testing.T) {
	c, err := testSchema.Parse("main.cf", strings.NewReader("myhostname = a\n"),
		Setting{Name: "myhostname", Value: "b", Pos: Pos{File: "command line"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Get("myhostname") != "b" {
		t.Errorf("myhostname = %q", c.Get("myhostname"))
	}
}

func TestLimits(t *testing.T) {
	long := "myhostname = " + strings.Repeat("x", MaxLineLength) + "\n"
	if _, err := parse(t, long); err == nil || !strings.Contains(err.Error(), "line longer") {
		t.Errorf("long line: %v", err)
	}
	// Self-doubling references stay bounded.
	text := "loop_b = $loop_a$loop_a$loop_a$loop_a\nloop_a = $mydomain$mydomain$mydomain$mydomain\nmydomain = $myhostname$myhostname$myhostname$myhostname\nmyhostname = " + strings.Repeat("y", 20000) + "\n"
	if _, err := parse(t, text); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("blow-up: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := testSchema.Load(filepath.Join(t.TempDir(), "nope.cf"))
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("err = %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"mydestinaton", "mydestination", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b, 10); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"myhostname = a\n  b\n# c\n",
		"mydestination = $myhostname, ${mydomain}, $(myorigin)\n",
		"smtpd_banner = ${mail_name?{x $mail_name}}${relayhost:y}$$\n",
		"submission/inet/smtpd_sasl_auth_enable = yes\n",
		"loop_a = $loop_b\nloop_b = $loop_a\n",
		"ssl_cert = </nonexistent\n",
		"x\n\t=\n=\n/=\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := testSchema.Parse("fuzz.cf", strings.NewReader(s))
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %v", err)
			}
			return
		}
		for _, p := range testSchema.Params() {
			c.Get(p.Name)
			c.Service("submission").Get(p.Name)
		}
		c.NonDefault()
	})
}

func TestServiceDefaults(t *testing.T) {
	s := NewSchema([]Param{
		{Name: "smtpd_sasl_auth_enable", Default: "no", Kind: Bool},
		{Name: "smtpd_recipient_restrictions", Default: "", Kind: List},
	}, []string{"smtp", "submission"})
	s.SetServiceDefault("submission", "smtpd_sasl_auth_enable", "yes")
	s.SetServiceDefault("submission", "smtpd_recipient_restrictions", "permit_sasl_authenticated, reject")
	// A global main.cf setting does not override the service default, as
	// main.cf does not override master.cf's -o; a service/ line does.
	c, err := s.Parse("main.cf", strings.NewReader("smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\nsubmission/smtpd_sasl_auth_enable = no\n"))
	if err != nil {
		t.Fatal(err)
	}
	sub := c.Service("submission")
	if got := sub.Get("smtpd_recipient_restrictions"); got != "permit_sasl_authenticated, reject" {
		t.Errorf("submission restrictions = %q", got)
	}
	if sub.Bool("smtpd_sasl_auth_enable") {
		t.Error("service/ line did not override the service default")
	}
	if got := c.Service("smtp").Get("smtpd_recipient_restrictions"); got != "permit_mynetworks, reject_unauth_destination" {
		t.Errorf("smtp restrictions = %q", got)
	}
}
