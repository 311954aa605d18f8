package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"

	"github.com/yubinmail/yubin/auth/ldap"
)

// openLDAP opens "passdb = ldap:/etc/dovecot/dovecot-ldap.conf.ext" (or
// the userdb's): Dovecot's LDAP settings file, as seed 003 §1.2 writes it.
func openLDAP(setting string, words []string, log *slog.Logger) (*ldap.DB, error) {
	if len(words) != 1 {
		return nil, fmt.Errorf("%s: want ldap:/path/dovecot-ldap.conf.ext", setting)
	}
	b, err := loadAuthConf(setting, words[0], "LDAP", log)
	if err != nil {
		return nil, err
	}
	cfg, err := ldap.ParseConfig(bytes.NewReader(b), words[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	db, err := ldap.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	db.Logger = log
	return db, nil
}

// ldapUserDB opens "userdb = ldap:/path [override_fields=]k=v ...": the
// key=value words are Dovecot's override_fields (seed 003: uid=vmail
// gid=vmail home=/var/mail/%n/), and mail_location is the default mail
// field.
func ldapUserDB(setting string, opts map[string]string, words []string, defaults map[string]string, log *slog.Logger) (*ldap.DB, error) {
	db, err := openLDAP(setting, words, log)
	if err != nil {
		return nil, err
	}
	db.OverrideFields = map[string]string{}
	for k, v := range opts {
		switch k {
		case "override_fields", "default_fields":
			// "override_fields=uid=vmail": the first field rides on the key.
			fk, fv, ok := strings.Cut(v, "=")
			if !ok {
				return nil, fmt.Errorf("%s: %s=%s: want %s=key=value", setting, k, v, k)
			}
			if k == "default_fields" {
				defaults[fk] = fv
			} else {
				db.OverrideFields[fk] = fv
			}
		default:
			db.OverrideFields[k] = v
		}
	}
	db.DefaultFields = defaults
	return db, nil
}
