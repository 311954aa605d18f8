//go:build pam && cgo

package main

import (
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/privsep"
	"github.com/yubinmail/yubin/config"
)

// pamBuilt reports whether this binary can use PAM.
const pamBuilt = true

// pamPassDB is "passdb = pam[:[session=yes] [setcred=yes] [SERVICE]]",
// Dovecot's passdb pam with its args ("*" as the service: the
// connection's protocol). The PAM service defaults to "dovecot". To
// check other users' passwords with pam_unix the server must be able to
// read /etc/shadow: started as root, the host leaves that to the auth
// worker (authworker.go).
//
// With worker (the host started as root), PAM runs in the auth worker,
// which stays root, and the host asks it over its socket.
func pamPassDB(c *config.Config, opts map[string]string, words []string, cache authCache, worker *privsep.Client) (auth.PassDB, error) {
	key, err := pamKey(opts, words)
	if err != nil {
		return nil, fmt.Errorf("passdb = %s: %w", c.Get("passdb"), err)
	}
	if worker != nil {
		return cache.wrap(worker.PassDB(key)), nil
	}
	p, err := pamFromKey(key)
	if err != nil {
		return nil, err
	}
	return cache.wrap(p), nil
}

func pamFromKey(key string) (*auth.PAM, error) {
	service, setcred, session, err := parsePAMKey(key)
	if err != nil {
		return nil, err
	}
	return &auth.PAM{Service: service, SetCred: setcred, Session: session}, nil
}

// pamWorkerDBs builds the auth worker's passdbs from their keys.
func pamWorkerDBs(keys []string) (map[string]auth.PassDB, error) {
	dbs := map[string]auth.PassDB{}
	for _, k := range keys {
		p, err := pamFromKey(k)
		if err != nil {
			return nil, err
		}
		dbs[k] = p
	}
	if len(dbs) == 0 {
		return nil, fmt.Errorf("no pam passdb to serve")
	}
	return dbs, nil
}

// parsePAMKey reads a pamKey back.
func parsePAMKey(key string) (service string, setcred, session bool, err error) {
	for _, f := range strings.Fields(key) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "service":
			service = v
		case "setcred":
			setcred = v == "yes"
		case "session":
			session = v == "yes"
		default:
			return "", false, false, fmt.Errorf("bad pam passdb %q", key)
		}
	}
	if service == "" {
		return "", false, false, fmt.Errorf("bad pam passdb %q", key)
	}
	return service, setcred, session, nil
}
