package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/sieve/managesieve"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// sieveLocation is Pigeonhole's "sieve" setting,
// "file:~/sieve;active=~/.dovecot.sieve": the storage directory and the
// active-script link, each with ~ for the user's home and %u, %n, %d.
type sieveLocation struct{ dir, active string }

func parseSieveLocation(v string) (sieveLocation, error) {
	rest, ok := strings.CutPrefix(v, "file:")
	if !ok {
		return sieveLocation{}, errors.New("only file:PATH[;active=PATH] is supported")
	}
	parts := strings.Split(rest, ";")
	loc := sieveLocation{dir: parts[0]}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		if k != "active" || val == "" {
			return sieveLocation{}, fmt.Errorf("unknown option %q (want active=PATH)", p)
		}
		loc.active = val
	}
	if loc.dir == "" {
		return sieveLocation{}, errors.New("file: needs a path")
	}
	if loc.active == "" {
		loc.active = "~/.dovecot.sieve"
	}
	return loc, nil
}

func sieveLocationCheck(v string) error {
	_, err := parseSieveLocation(v)
	return err
}

// expand turns a location path into the user's path: %-variables, then
// ~ as home.
func expandUserPath(path, user, home string) (string, error) {
	if strings.Contains(path, "%") {
		x, err := auth.Expand(path, auth.Vars{"user": user, "home": home}, nil)
		if err != nil {
			return "", err
		}
		path = x
	}
	if rest, ok := strings.CutPrefix(path, "~"); ok {
		path = filepath.Join(home, rest)
	}
	return path, nil
}

// newManageSieve is the server of protocols = sieve (Pigeonhole's
// managesieve on managesieve_port). A user's home is the userdb's home
// or, for a user without one (the default static userdb), the directory
// that holds the Maildir, so scripts sit next to the mail as
// ~/sieve and ~/.dovecot.sieve would.
//
// Scripts are not compiled yet (Check is nil): the sieve package's
// parser is wired in at its merge.
func (h *host) newManageSieve(v *config.Config, a auth.Authenticator, u *users, log *slog.Logger) (*managesieve.Server, error) {
	loc, err := parseSieveLocation(v.Get("sieve"))
	if err != nil {
		return nil, fmt.Errorf("sieve = %s: %w", v.Get("sieve"), err)
	}
	tmpl := sievestore.Store{
		MaxScripts:    int(v.Int("sieve_quota_max_scripts")),
		MaxStorage:    v.Int("sieve_quota_max_storage"),
		MaxScriptSize: v.Int("sieve_max_script_size"),
	}
	if tmpl.MaxScriptSize <= 0 {
		// Pigeonhole's 0 is no limit; here it is the default, since the
		// server holds a script in memory while it checks it.
		tmpl.MaxScriptSize = sievestore.DefaultMaxScriptSize
	}
	backend := managesieve.BackendFunc(func(ctx context.Context, id *auth.Identity) (managesieve.Scripts, error) {
		usr, err := u.LookupUser(ctx, id.User)
		if err != nil {
			return nil, err
		}
		home := usr.Home
		if home == "" {
			root, err := mailRoot(usr, usr.Name)
			if err != nil {
				return nil, err
			}
			home = filepath.Dir(root)
		}
		st := tmpl
		if st.Dir, err = expandUserPath(loc.dir, usr.Name, home); err != nil {
			return nil, err
		}
		if st.Active, err = expandUserPath(loc.active, usr.Name, home); err != nil {
			return nil, err
		}
		return &st, st.Create()
	})
	srv := &managesieve.Server{
		TLSConfig:                dovecotTLS(v, h.tlsConf),
		Authenticator:            a,
		Backend:                  backend,
		Logger:                   log,
		MaxScriptSize:            tmpl.MaxScriptSize,
		MaxConnections:           int(v.Int("process_limit")),
		LoginMaxConnectionsPerIP: int(v.Int("login_max_connections_per_ip")),
	}
	return srv, nil
}
