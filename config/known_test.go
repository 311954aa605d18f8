package config

import (
	"strings"
	"testing"
)

// TestAddKnownAcceptsWithoutEffect: a name another program knows is
// accepted, reported by Unused, expands to that program's default when
// referred to (or to its setting), and loses to a declared name of the
// same spelling; a misspelling is refused with the known name as hint.
func TestAddKnownAcceptsWithoutEffect(t *testing.T) {
	t.Parallel()
	s := NewSchema([]Param{
		{Name: "myhostname", Default: "localhost"},
		{Name: "docs", Default: "$readme_directory"},
		{Name: "banner", Default: "$myhostname"},
	}, []string{"smtp"})
	s.AddKnown("Postfix 3.7", map[string]string{
		"biff":             "yes",
		"config_directory": "/etc/postfix",
		"readme_directory": "/usr/share/doc/postfix",
		"myhostname":       "host.example",
	})
	s.AddKnown("Dovecot 2.3", map[string]string{"biff": "dovecot", "first_valid_uid": "500"})
	if p, ok := s.Known("biff"); !ok || p != "Postfix 3.7" {
		t.Errorf("Known(biff) = %q, %v", p, ok)
	}
	if p, ok := s.Known("first_valid_uid"); !ok || p != "Dovecot 2.3" {
		t.Errorf("Known(first_valid_uid) = %q, %v", p, ok)
	}
	if _, ok := s.Known("myhostname"); ok {
		t.Error("a declared name is reported as known only")
	}
	c, err := s.Parse("main.cf", strings.NewReader("biff = no\nbanner = $config_directory/x\nsmtp/first_valid_uid = 1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("banner"); got != "/etc/postfix/x" {
		t.Errorf("banner = %q", got)
	}
	if got := c.Get("docs"); got != "/usr/share/doc/postfix" {
		t.Errorf("docs = %q", got)
	}
	if got := c.Get("myhostname"); got != "localhost" {
		t.Errorf("myhostname = %q (the declared default must win)", got)
	}
	if got := c.Get("biff"); got != "no" {
		t.Errorf("biff = %q", got)
	}
	l := NewReadLog()
	c.WithReadLog(l).Get("banner")
	var unused []string
	for _, st := range l.Unused(c) {
		unused = append(unused, st.Key())
	}
	if strings.Join(unused, " ") != "biff smtp/first_valid_uid" {
		t.Errorf("Unused = %q", unused)
	}
	var nd []string
	for _, st := range c.NonDefault() {
		nd = append(nd, st.Key())
	}
	if strings.Join(nd, " ") != "banner biff smtp/first_valid_uid" {
		t.Errorf("NonDefault = %q", nd)
	}

	_, err = s.Parse("main.cf", strings.NewReader("bif = no\nbanner = $confg_directory\n"))
	for _, want := range []string{
		`main.cf:1: unknown parameter "bif" (did you mean "biff"?)`,
		`main.cf:2: banner: reference to unknown parameter $confg_directory (did you mean $config_directory?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
