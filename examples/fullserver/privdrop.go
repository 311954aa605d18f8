package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// account is the unprivileged user the host runs as when started as root.
type account struct {
	name     string
	uid, gid int
}

// lookupOwner resolves mail_owner. Root is refused: the host never
// touches mail as root.
func lookupOwner(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("started as root, but mail_owner %q is not a user (create it, or set mail_owner to an unprivileged user such as nobody): %v", name, err)
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
