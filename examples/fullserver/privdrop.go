package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// account is the unprivileged user the host runs as when started as root.
type account struct {
	name     string
	uid, gid int
}

// createOwnerHint is the command that makes the default mail_owner.
const createOwnerHint = "useradd --system --home-dir /var/lib/yubin --shell /usr/sbin/nologin yubin"

// sharedOwners are accounts that other programs run as: mail owned by
// one of them is readable by all of those programs.
var sharedOwners = map[string]bool{"nobody": true, "nogroup": true, "daemon": true}

// errNoUser is lookupOwner's error for a name that is not a user.
var errNoUser = errors.New("no such user")

// sharedUID is nobody's uid on Debian and most Linux systems.
const sharedUID = 65534

// chooseOwner decides, when started as root, which account the host
// runs as: mail_owner (name; set tells whether the configuration names
// it) must be a dedicated unprivileged user. A missing default user or a
// shared one such as nobody is refused with the command that creates
// the dedicated user, unless allowShared (allow_nobody_mail_owner =
// yes): then nobody stands in for a missing default user, with a
// warning. lookup resolves a user name.
func chooseOwner(name string, set, allowShared bool, lookup func(string) (*account, error)) (*account, string, error) {
	a, err := lookup(name)
	if err != nil && !errors.Is(err, errNoUser) {
		return nil, "", err
	}
	if err != nil {
		if set || !allowShared {
			return nil, "", fmt.Errorf("started as root, but mail_owner %q is not a user: create a dedicated user for the mail (%s), or set mail_owner to one (%w)", name, strings.ReplaceAll(createOwnerHint, " yubin", " "+name), err)
		}
		a, err = lookup("nobody")
		if err != nil {
			return nil, "", err
		}
		return a, fmt.Sprintf("mail_owner %q does not exist; running as nobody because allow_nobody_mail_owner = yes (any other program running as nobody can read the mail and the TLS key; create the user: %s)", name, createOwnerHint), nil
	}
	if (sharedOwners[a.name] || a.uid == sharedUID) && !allowShared {
		return nil, "", fmt.Errorf("mail_owner %q is shared with other programs, which could read all mail and the TLS key: create a dedicated user (%s) and set mail_owner = yubin, or set allow_nobody_mail_owner = yes to run as %s anyway", name, createOwnerHint, name)
	}
	return a, "", nil
}

// lookupOwner resolves mail_owner. Root is refused: the host never
// touches mail as root.
func lookupOwner(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("%w: %v", errNoUser, err)
		}
		return nil, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("mail_owner %q: non-numeric uid/gid", name)
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("mail_owner %q is root: refusing to handle mail as root", name)
	}
	return &account{name: name, uid: uid, gid: gid}, nil
}

// giveToOwner chowns path, and its directory when root owns it, to a.
func giveToOwner(path string, a *account) error {
	if err := os.Lchown(path, a.uid, a.gid); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
			return os.Chown(dir, a.uid, a.gid)
		}
	}
	return nil
}

// dropPrivileges makes every thread of the process run as a (Go's
// syscall.Setuid applies to all threads on Linux).
func dropPrivileges(a *account) error {
	if err := syscall.Setgroups([]int{a.gid}); err != nil {
		return fmt.Errorf("setgroups: %v", err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("setgid %d: %v", a.gid, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("setuid %d: %v", a.uid, err)
	}
	if os.Geteuid() == 0 {
		return fmt.Errorf("still root after setuid")
	}
	return nil
}

// ensureOwner is ownerOf for a start as root: when mail_owner is left at
// its default ("yubin") and that user does not exist, the host creates
// it as a system user, as Debian's postfix and dovecot packages create
// theirs at install, so that the first start on a fresh machine
// (README: go run ./examples/fullserver) works without ever handling
// mail as root or as a shared nobody. A mail_owner set in main.cf that
// does not exist is still refused: a typo must not create accounts.
func ensureOwner(name string, set bool, owner func() (*account, string, error), create func(string) error) (*account, string, error) {
	a, warn, err := owner()
	if err == nil || set || !errors.Is(err, errNoUser) {
		return a, warn, err
	}
	if cerr := create(name); cerr != nil {
		return nil, "", fmt.Errorf("%w; creating it failed: %v", err, cerr)
	}
	a, warn, err = owner()
	if err == nil && warn == "" {
		warn = fmt.Sprintf("created the system user %q for the mail (mail_owner; %s)", name, strings.ReplaceAll(createOwnerHint, " yubin", " "+name))
	}
	return a, warn, err
}

// createSystemUser runs useradd for a system account without a login
// shell (createOwnerHint).
func createSystemUser(name string) error {
	args := strings.Fields(strings.ReplaceAll(createOwnerHint, " yubin", " "+name))
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
