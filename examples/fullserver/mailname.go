package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/yubinmail/yubin/config"
)

// withMailname applies Debian's "myorigin = /etc/mailname": a myorigin
// that starts with "/" names a file whose first line is the domain, as
// Debian's Postfix reads it. cfg is returned as it is otherwise, or
// loaded again with the file's domain as myorigin (at the same file:line,
// so $myorigin everywhere is the domain). A missing file is a warning,
// and myorigin is then $myhostname.
func withMailname(o *options, schema *config.Schema, base []config.Setting, cfg *config.Config, warns *[]*config.Error) (*config.Config, error) {
	v := cfg.Get("myorigin")
	if !strings.HasPrefix(v, "/") {
		return cfg, nil
	}
	pos := cfg.Pos("myorigin")
	b, err := os.ReadFile(v)
	if errors.Is(err, os.ErrNotExist) {
		// Debian's installer writes the file; without it, the
		// domain is Postfix's default myorigin.
		*warns = append(*warns, &config.Error{Pos: pos, Msg: fmt.Sprintf("myorigin = %s: no such file; using $myhostname (%s)", v, cfg.Get("myhostname"))})
		b = []byte(cfg.Get("myhostname"))
	} else if err != nil {
		return nil, config.ErrorList{{Pos: pos, Msg: fmt.Sprintf("myorigin = %s: %v", v, err)}}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	domain := strings.TrimSpace(line)
	if domain == "" || strings.ContainsAny(domain, " \t$@") {
		return nil, config.ErrorList{{Pos: pos, Msg: fmt.Sprintf("myorigin = %s: the file's first line %q is not a domain name", v, domain)}}
	}
	c, _, err := loadMain(o, schema, base, config.Setting{Name: "myorigin", Value: domain, Pos: pos})
	return c, err
}
