//go:build !(pam && cgo)

package main

import (
	"errors"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/privsep"
	"github.com/yubinmail/yubin/config"
)

// pamBuilt reports whether this binary can use PAM.
const pamBuilt = false

// errNoPAM explains a "passdb = pam" this binary cannot serve.
var errNoPAM = errors.New("passdb = pam: this fullserver was built without PAM support; " +
	"rebuild it with cgo and the pam build tag (apt-get install libpam0g-dev; go build -tags pam), " +
	"or use a passwd-file or sql passdb")

// pamPassDB refuses PAM in a binary built without it.
func pamPassDB(*config.Config, map[string]string, []string, authCache, *privsep.Client) (auth.PassDB, error) {
	return nil, errNoPAM
}

// pamWorkerDBs refuses to run an auth worker without PAM.
func pamWorkerDBs([]string) (map[string]auth.PassDB, error) { return nil, errNoPAM }
