package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/config"
)

// maxAuthConf bounds an auth configuration file read as root.
const maxAuthConf = 1 << 20

// rootAuthConfs holds the LDAP and SQL settings files
// (dovecot-ldap.conf.ext, dovecot-sql.conf.ext) as read at start-up,
// as root, before the server drops to mail_owner. Seed 003 makes them
// "chown root:root; chmod 600" because they hold the directory's or
// database's password; Dovecot reads them in its auth process, which
// keeps root. The host reads them once as root, and later (a reload
// after the drop) reads a file afresh when it can and falls back to the
// start-up copy when it may not.
//
// It is written once, before any server starts, and only read after.
var rootAuthConfs = struct {
	sync.Mutex
	m map[string][]byte
}{}

// prereadAuthConfs reads, as root, the files that the passdb and
// userdb settings name for their ldap: and sql: drivers. A file that
// cannot be read is left for the normal open to report.
func prereadAuthConfs(c *config.Config) {
	rootAuthConfs.Lock()
	defer rootAuthConfs.Unlock()
	if rootAuthConfs.m == nil {
		rootAuthConfs.m = map[string][]byte{}
	}
	for _, setting := range []string{"passdb", "userdb"} {
		for _, part := range strings.Split(c.Get(setting), ",") {
			driver, _, words := driverArgs(strings.TrimSpace(part))
			if (driver != "ldap" && driver != "sql") || len(words) != 1 {
				continue
			}
			if b, err := readLimited(words[0]); err == nil {
				rootAuthConfs.m[words[0]] = b
			}
		}
	}
}

// readAuthConf reads an auth configuration file: afresh when this
// process may, else the copy read as root at start-up. fromStart says
// the copy was used.
func readAuthConf(path string) (b []byte, fromStart bool, err error) {
	b, err = readLimited(path)
	if err == nil || !errors.Is(err, os.ErrPermission) {
		return b, false, err
	}
	rootAuthConfs.Lock()
	saved, ok := rootAuthConfs.m[path]
	rootAuthConfs.Unlock()
	if !ok {
		return nil, false, err
	}
	return saved, true, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxAuthConf+1))
}

// loadAuthConf reads the settings file of the passdb or userdb setting
// (what names its kind for the log: "LDAP", "SQL") with readAuthConf,
// with the errors and warning the host gives for it.
func loadAuthConf(setting, path, what string, log *slog.Logger) ([]byte, error) {
	b, fromStart, err := readAuthConf(path)
	if errors.Is(err, os.ErrPermission) {
		// Not read as root at start-up (the server was not started as
		// root), and the user it runs as may not read it.
		return nil, fmt.Errorf("%s: %w (start the server as root, which reads it before dropping privileges, or make it readable by the user the server runs as)", setting, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	if fromStart && log != nil {
		log.Warn("the "+what+" settings file is readable only by root: using the copy read at start-up (changes need a restart)", "file", path)
	}
	return b, nil
}
