//go:build pam && cgo

package main

import (
	"fmt"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// pamBuilt reports whether this binary can use PAM.
const pamBuilt = true

// pamPassDB is "passdb = pam[:[session=yes] [setcred=yes] [SERVICE]]",
// Dovecot's passdb pam with its args ("*" as the service: the
// connection's protocol). The PAM service defaults to "dovecot". To
// check other users' passwords with pam_unix the server must be able to
// read /etc/shadow: run it with mail_owner in the shadow group.
func pamPassDB(c *config.Config, opts map[string]string, words []string, cache authCache) (auth.PassDB, error) {
	p := &auth.PAM{SetCred: opts["setcred"] == "yes", Session: opts["session"] == "yes"}
	for k := range opts {
		if k != "setcred" && k != "session" {
			return nil, fmt.Errorf("passdb = %s: unknown pam option %s", c.Get("passdb"), k)
		}
	}
	switch len(words) {
	case 0:
	case 1:
		p.Service = words[0]
	default:
		return nil, fmt.Errorf("passdb = %s: want pam[:[session=yes] [setcred=yes] [SERVICE]]", c.Get("passdb"))
	}
	return cache.wrap(p), nil
}
