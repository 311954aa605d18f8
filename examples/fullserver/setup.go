package main

import "github.com/yubinmail/yubin/config"

// demoUser is the account made on first start when the passwd file is
// empty.
type demoUser struct{ name, password string }

// setup builds the protocol servers for h.binds from h.cfg and returns
// the demo user when it made one.
func (h *host) setup() (*demoUser, error) {
	return ensureDemoUser(h.cfg)
}

// checkSetup builds what setup would, without listening, to find errors
// in tables and user databases for "fullserver check".
func checkSetup(cfg *config.Config) error {
	return nil
}
