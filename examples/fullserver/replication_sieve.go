package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/sieve/managesieve"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// userSieveStore returns a function that finds a user's Sieve script
// storage as ManageSieve and delivery use it (sieve = file:~/sieve;
// active=~/.dovecot.sieve, the quotas of sieve_quota_*), so that the
// replication partner syncs the scripts ManageSieve changed.
func userSieveStore(v *config.Config, u *users) (func(ctx context.Context, user string) (*sievestore.Store, error), sievestore.Store, error) {
	loc, err := parseSieveLocation(v.Get("sieve"))
	if err != nil {
		return nil, sievestore.Store{}, fmt.Errorf("sieve = %s: %w", v.Get("sieve"), err)
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
	find := func(ctx context.Context, user string) (*sievestore.Store, error) {
		usr, err := u.LookupUser(ctx, user)
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
		return &st, nil
	}
	return find, tmpl, nil
}

// notifyingScripts reports each change ManageSieve makes to a user's
// scripts to the replicator, so the partner has it within a second, as
// mail changes are.
type notifyingScripts struct {
	managesieve.Scripts
	user    string
	changed func(user string)
}

func (n notifyingScripts) done(err error) error {
	if err == nil {
		n.changed(n.user)
	}
	return err
}

// Put implements managesieve.Scripts.
func (n notifyingScripts) Put(ctx context.Context, name string, script []byte) error {
	return n.done(n.Scripts.Put(ctx, name, script))
}

// Delete implements managesieve.Scripts.
func (n notifyingScripts) Delete(ctx context.Context, name string) error {
	return n.done(n.Scripts.Delete(ctx, name))
}

// Rename implements managesieve.Scripts.
func (n notifyingScripts) Rename(ctx context.Context, oldName, newName string) error {
	return n.done(n.Scripts.Rename(ctx, oldName, newName))
}

// SetActive implements managesieve.Scripts.
func (n notifyingScripts) SetActive(ctx context.Context, name string) error {
	return n.done(n.Scripts.SetActive(ctx, name))
}
