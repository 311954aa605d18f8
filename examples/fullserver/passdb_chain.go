package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// openPassDBChain is "passdb = passwd-file:/etc/yubin/passwd,
// sql:/etc/dovecot/dovecot-sql.conf.ext": several passdbs asked in
// order, as Dovecot's several passdb blocks (auth.PassDBChain). Put the
// passwd-file first: its users then log in without waiting for a
// database that may hang.
func (u *users) openPassDBChain(c *config.Config, cache authCache, log *slog.Logger) error {
	var chain auth.PassDBChain
	for _, part := range strings.Split(c.Get("passdb"), ",") {
		driver, opts, words := driverArgs(strings.TrimSpace(part))
		switch driver {
		case "passwd-file":
			if len(words) != 1 || u.passwd != nil {
				return fmt.Errorf("passdb = %s: one passwd-file:[scheme=X] PATH at most", c.Get("passdb"))
			}
			u.passwd = &auth.PasswdFile{Path: words[0], DefaultScheme: opts["scheme"], Logger: log,
				DefaultFields: map[string]string{"mail": mailLocationOf(c)}}
			if err := u.passwd.Reload(); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("passdb: %w", err)
			}
			chain = append(chain, u.passwd)
		case "sql":
			db, err := sqlPassDB(c, words, cache, log)
			if err != nil {
				return err
			}
			chain = append(chain, db)
		case "pam":
			db, err := pamPassDB(c, opts, words, cache)
			if err != nil {
				return err
			}
			chain = append(chain, db)
		default:
			return fmt.Errorf("passdb = %s: %q: want passwd-file:, sql: or pam", c.Get("passdb"), part)
		}
	}
	u.pass = chain
	return nil
}
