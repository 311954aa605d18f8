package restrict

import (
	"strings"
	"testing"
	"time"
)

func TestParamsExpand(t *testing.T) {
	p := Params{
		"myhostname":  "mx.example.jp",
		"mydomain":    "example.jp",
		"loop":        "$loop",
		"empty":       "",
		"withdollars": "$$literal",
	}
	for in, want := range map[string]string{
		"$myhostname, localhost.$mydomain, localhost": "mx.example.jp, localhost.example.jp, localhost",
		"${myhostname}/$(mydomain)":                   "mx.example.jp/example.jp",
		"${mydomain?set}${empty?never}":               "set",
		"${empty:unset}${mydomain:never}":             "unset",
		"${empty?{a}:{b}} ${mydomain?{a}:{b}}":        "b a",
		"$withdollars and $$":                         "$literal and $",
		"$nosuchparam.":                               ".",
		"${stress?{1}:{20}}":                          "20",
	} {
		got, err := p.Expand(in)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := p.Expand("$loop"); err == nil {
		t.Error("self-reference: no error")
	}
	if got := p.Get("mydestination"); got != "mx.example.jp, localhost.example.jp, localhost" {
		t.Errorf("default mydestination = %q", got)
	}
	if !p.Bool("smtpd_delay_reject") || p.Int("message_size_limit") != 10240000 || p.Duration("anvil_rate_time_unit") != time.Minute {
		t.Error("defaults")
	}
	if _, err := p.Expand("${unclosed"); err == nil {
		t.Error("unbalanced brace: no error")
	}
}

func TestParseMainCF(t *testing.T) {
	p, err := ParseMainCF(strings.NewReader("# comment\nmyhostname = mx.example.jp\nsmtpd_recipient_restrictions =\n    permit_mynetworks,\n    reject_unauth_destination\n\nempty =\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p["smtpd_recipient_restrictions"] != "permit_mynetworks, reject_unauth_destination" || p["myhostname"] != "mx.example.jp" {
		t.Errorf("%q", p)
	}
	if v, ok := p["empty"]; !ok || v != "" {
		t.Errorf("empty: %q %v", v, ok)
	}
	for _, bad := range []string{"  continuation first\n", "no equals sign\n", "= value\n"} {
		if _, err := ParseMainCF(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
