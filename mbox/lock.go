package mbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// Locking follows Dovecot's defaults (FORMATS.md 3): readers take an fcntl
// read lock on the whole file; writers take the "<mbox>.lock" dotlock and
// an fcntl write lock, in that order, as Postfix's local(8) and mutt do.
// fcntl locks are open-file-description locks (F_OFD_SETLK), which
// conflict with the classic per-process POSIX locks the other programs
// take but are not dropped when another descriptor of the same file is
// closed in this process.

// lockRetry is how often a busy lock is tried again.
const lockRetry = 20 * time.Millisecond

// fcntlLock takes a whole-file lock (unix.F_RDLCK or unix.F_WRLCK) on f,
// waiting until ctx is done.
func fcntlLock(ctx context.Context, f *os.File, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return fmt.Errorf("mbox: fcntl lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mbox: %s is locked: %w (%w)", f.Name(), store.ErrTemporary, ctx.Err())
		case <-time.After(lockRetry):
		}
	}
}

// fcntlUnlock releases f's lock.
func fcntlUnlock(f *os.File) {
	lk := unix.Flock_t{Type: unix.F_UNLCK}
	unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
}

// dotlock is a held "<path>.lock" file.
type dotlock struct {
	path string
	ino  uint64
}

// takeDotlock creates path+".lock" (a temporary file hard-linked into
// place, which works on NFS too), waiting until ctx is done. A lock file
// not modified for stale is removed as abandoned. When the directory is
// not writable (a spool directory without mail_privileged_group rights)
// it returns a nil lock and no error: the fcntl lock alone protects the
// file, as Dovecot does when it cannot dotlock.
func takeDotlock(ctx context.Context, path, host string, stale time.Duration) (*dotlock, error) {
	lockPath := path + ".lock"
	content := []byte(strconv.Itoa(os.Getpid()) + ":" + host + "\n")
	for {
		tmp := fmt.Sprintf("%s.%s.%d.%d.tmp", lockPath, host, os.Getpid(), time.Now().UnixNano())
		err := os.WriteFile(tmp, content, 0o600)
		if errors.Is(err, os.ErrPermission) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("mbox: dotlock: %w", err)
		}
		err = os.Link(tmp, lockPath)
		var st unix.Stat_t
		statErr := unix.Stat(tmp, &st)
		os.Remove(tmp)
		if err == nil && statErr == nil {
			return &dotlock{path: lockPath, ino: st.Ino}, nil
		}
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("mbox: dotlock: %w", err)
		}
		if fi, err := os.Stat(lockPath); err == nil && time.Since(fi.ModTime()) > stale {
			os.Remove(lockPath) // abandoned
			continue
		}
		if deadOwner(lockPath, host) {
			os.Remove(lockPath) // its process on this host is gone
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("mbox: %s is held: %w (%w)", lockPath, store.ErrTemporary, ctx.Err())
		case <-time.After(lockRetry):
		}
	}
}

// deadOwner reports whether a dotlock says "pid:host" (as Dovecot's and
// yubin's do) for this host and that process no longer exists, as
// Dovecot checks before waiting for the stale timeout.
func deadOwner(lockPath, host string) bool {
	data, err := os.ReadFile(lockPath)
	if err != nil || len(data) > 256 {
		return false
	}
	pidText, lockHost, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
	if !ok || lockHost != host {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

// release removes the lock file if it is still ours.
func (d *dotlock) release() {
	if d == nil {
		return
	}
	var st unix.Stat_t
	if unix.Stat(d.path, &st) == nil && st.Ino == d.ino {
		os.Remove(d.path)
	}
}
