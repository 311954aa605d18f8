package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/sieve"
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
// PUTSCRIPT and CHECKSCRIPT compile the script with the extensions
// delivery allows (sieve_extensions), and a script with errors is
// refused with sievec's messages.
func (h *host) newManageSieve(v *config.Config, a auth.Authenticator, u *users, log *slog.Logger) (*managesieve.Server, error) {
	find, tmpl, err := userSieveStore(v, u)
	if err != nil {
		return nil, err
	}
	backend := managesieve.BackendFunc(func(ctx context.Context, id *auth.Identity) (managesieve.Scripts, error) {
		st, err := find(ctx, id.User)
		if err != nil {
			return nil, err
		}
		if h.sieveChanged != nil {
			return notifyingScripts{Scripts: st, user: id.User, changed: h.sieveChanged}, st.Create()
		}
		return st, st.Create()
	})
	exts := capabilityOrder(sieveExtensions(v.Get("sieve_extensions")))
	srv := &managesieve.Server{
		Check:                    sieveCheck(exts, v.Get("sieve_global")),
		CommandHook:              h.m.commandHook("sieve"),
		Extensions:               exts,
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

// sieveCheck is ManageSieve's Check: the script is parsed as delivery
// parses it, and its errors are sent as sievec prints them ("NAME: line
// 2: error: ...", then "NAME: error: validation failed." or, for a
// script that could not be read, "parse failed."; without the name for
// CHECKSCRIPT).
//
// Includes are checked as Pigeonhole's upload does: include :personal
// reads the user's stored scripts (a missing one is a warning, "ignored
// during upload"), include :global reads sieve_global. Warnings are sent
// with the OK (WARNINGS).
func sieveCheck(exts []string, global string) func(ctx context.Context, name string, script []byte) error {
	return func(ctx context.Context, name string, script []byte) error {
		inc := sieve.IncluderFunc(func(loc sieve.IncludeLocation, inc string) ([]byte, error) {
			if loc == sieve.IncludeGlobal {
				if global == "" {
					return nil, sieve.ErrNoLocation
				}
				b, err := os.ReadFile(filepath.Join(global, inc+".sieve"))
				if errors.Is(err, os.ErrNotExist) {
					return nil, sieve.ErrNotFound
				}
				return b, err
			}
			scripts, ok := managesieve.UserScripts(ctx)
			if !ok {
				return nil, sieve.ErrNotFound
			}
			b, err := scripts.Get(ctx, inc)
			if errors.Is(err, sievestore.ErrNotFound) {
				return nil, sieve.ErrNotFound
			}
			return b, err
		})
		prefix := ""
		if name != "" {
			prefix = name + ": "
		}
		s, err := sieve.Parse(script, sieve.WithExtensions(exts...), sieve.WithName(name), sieve.WithUpload(), sieve.WithIncluder(inc))
		if err == nil {
			if len(s.Warnings()) == 0 {
				return nil
			}
			var b strings.Builder
			for _, w := range s.Warnings() {
				b.WriteString(prefix + w.Error() + "\r\n")
			}
			return &managesieve.ScriptWarnings{Text: b.String()}
		}
		var b strings.Builder
		errs := sieve.Errors(err)
		if len(errs) == 0 {
			b.WriteString(prefix + "error: " + err.Error() + "\r\n")
		}
		for _, e := range errs {
			if e.Script != "" {
				b.WriteString(e.Error() + "\r\n") // an included script's, named
				continue
			}
			b.WriteString(prefix + e.Error() + "\r\n")
		}
		if syntaxError(errs) {
			b.WriteString(prefix + "error: parse failed.\r\n")
		} else {
			b.WriteString(prefix + "error: validation failed.\r\n")
		}
		return &managesieve.ScriptError{Text: b.String()}
	}
}

// syntaxError reports whether the first error (not warning) of a
// failed check is the parser's: Pigeonhole then says "parse failed.".
func syntaxError(errs []*sieve.Error) bool {
	for _, e := range errs {
		if !e.Warning {
			return e.Syntax
		}
	}
	return false
}

// capabilityOrder puts exts in the order Pigeonhole lists them in its
// SIEVE capability (managesieve.DefaultExtensions), others after them.
func capabilityOrder(exts []string) []string {
	have := map[string]bool{}
	for _, e := range exts {
		have[e] = true
	}
	var out []string
	for _, e := range managesieve.DefaultExtensions {
		if have[e] {
			out = append(out, e)
			delete(have, e)
		}
	}
	for _, e := range exts {
		if have[e] {
			out = append(out, e)
		}
	}
	return out
}
