package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/internal/atomicfile"
)

// maxPasswdFile bounds the passwd file the user commands read into memory.
const maxPasswdFile = 64 << 20

// domainRE is a DNS domain in lower case ASCII (write IDNs as A-labels).
var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// qualifyUser checks a user name for adduser and the other user
// commands and returns it in the passwd file's form: lower case
// (auth_username_format = %Lu), "local@domain". A bare name gets
// "@$myorigin" when myorigin is set in main.cf (as Postfix's
// append_at_myorigin qualifies a bare address); otherwise it is refused,
// since mail_location's %d would be empty.
func qualifyUser(c *config.Config, name string) (string, error) {
	origin := ""
	if c.IsSet("myorigin") {
		origin = c.Get("myorigin")
	}
	return qualifyName(name, origin)
}

// qualifyName is qualifyUser with $myorigin given ("" when unset).
func qualifyName(name, origin string) (string, error) {
	if !utf8.ValidString(name) || !utf8.ValidString(origin) {
		return "", errors.New("bad user name: not UTF-8")
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", errors.New("empty user name")
	}
	if !strings.Contains(name, "@") {
		if origin == "" {
			return "", fmt.Errorf("bad user name %q: want user@domain (or set myorigin in main.cf to make %s@$myorigin of a bare name)", name, name)
		}
		name += "@" + strings.ToLower(origin)
	}
	local, domain, _ := strings.Cut(name, "@")
	if len(name) > 255 || len(local) > 64 {
		return "", fmt.Errorf("bad user name %q: too long", name)
	}
	if local == "" || local == "." || local == ".." || strings.ContainsAny(local, "@:#/\\") {
		return "", fmt.Errorf("bad user name %q: the local part must not be empty, \".\", \"..\" or hold '@', ':', '#', '/' or '\\'", name)
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("bad user name %q: no spaces or control characters", name)
		}
	}
	if !domainRE.MatchString(domain) {
		return "", fmt.Errorf("bad user name %q: %q is not a domain name", name, domain)
	}
	return name, nil
}

// passwdTarget is the passwd file the user commands edit: passdb's
// passwd-file (alone or in a chain).
func passwdTarget(c *config.Config) (string, error) {
	path := passwdFile(c)
	if path == "" {
		return "", fmt.Errorf("passdb is %q: no passwd-file to manage (manage sql, ldap and pam users with their own tools)", c.Get("passdb"))
	}
	if strings.Contains(path, "%") {
		return "", fmt.Errorf("passdb passwd-file %s has variables: edit its files by hand", path)
	}
	return path, nil
}

// commandOwner is the account the files written by a user command must
// belong to: when run as root, mail_owner, resolved (and, for the
// default name, created) exactly as a start as root does, so that the
// server can read them after it drops privileges; nil when not root (the
// files then belong to whoever runs the command, as the server's).
func commandOwner(c *config.Config) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	a, _, err := ensureOwner(c.Get("mail_owner"), c.IsSet("mail_owner"), func() (*account, string, error) { return ownerOf(c) }, createSystemUser)
	if err != nil {
		return nil, fmt.Errorf("run as root, but the server's user is unknown, so it could not read the file: %w", err)
	}
	return a, nil
}

// editPasswd changes the passwd file at path under an exclusive lock
// (flock on its directory), so that two commands run at once lose no
// change: edit
// gets the current lines (nil for a missing file) and returns the new
// ones. The file is replaced atomically (the running server, which
// re-reads it when its inode changes, never sees half a file), mode 0600
// and owned by owner when owner is not nil; so is a directory made for
// it.
func editPasswd(path string, owner *account, edit func(lines []string) ([]string, error)) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		if owner != nil {
			if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
				return err
			}
		}
	}
	// The lock is on the directory: no lock file beside the passwd file.
	lock, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", dir, err)
	}
	old, err := readPasswdBounded(path)
	if err != nil {
		return err
	}
	var lines []string
	if len(old) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(old), "\n"), "\n")
	}
	lines, err = edit(lines)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return writeOwnedAtomic(path, b.Bytes(), owner)
}

// readPasswdBounded reads the passwd file (nil when it does not exist),
// refusing one over maxPasswdFile.
func readPasswdBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if fi.Size() > maxPasswdFile {
		return nil, fmt.Errorf("%s is over %d bytes", path, maxPasswdFile)
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// writeOwnedAtomic writes data to a temporary file beside path, mode
// 0600 and owned by owner (when not nil) before it is renamed over path,
// so that path is never, even for a moment, a file the server cannot
// read.
func writeOwnedAtomic(path string, data []byte, owner *account) error {
	o := atomicfile.NoOwner
	if owner != nil {
		o = atomicfile.Owner{UID: owner.uid, GID: owner.gid}
	}
	return atomicfile.Write(path, data, 0o600, o)
}

// lineUser is the user name of a passwd-file line, "" for a comment or
// a blank line.
func lineUser(line string) string {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return ""
	}
	name, _, _ := strings.Cut(t, ":")
	return name
}
