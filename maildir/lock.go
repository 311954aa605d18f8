package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
)

// dotlock is a Dovecot-style dotlock (dovecot-uidlist.lock,
// dovecot-keywords.lock, subscriptions.lock): a file created with
// O_CREAT|O_EXCL holding "<pid>:<hostname>". It is stale, and is
// removed, when it has not been modified for Options.StaleLockTimeout or
// when it names a dead process on this host.
type dotlock struct {
	path string
	ino  uint64
}

func (s *Store) lock(ctx context.Context, path string) (*dotlock, error) {
	content := []byte(strconv.Itoa(os.Getpid()) + ":" + s.host)
	deadline := time.Now().Add(s.opts.lockTimeout())
	wait := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, werr := f.Write(content)
			var ino uint64
			if fi, err := f.Stat(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					ino = st.Ino
				}
			}
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("maildir: write lock %s: %w", path, errors.Join(werr, cerr))
			}
			s.chown(path)
			return &dotlock{path: path, ino: ino}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("maildir: lock %s: %w", path, err)
		}
		if s.breakStale(path) {
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("maildir: timed out waiting for %s: %w", path, store.ErrTemporary)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

// breakStale removes the lock at path when it is stale and reports
// whether it did.
func (s *Store) breakStale(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist) // gone: retry at once
	}
	stale := time.Since(fi.ModTime()) > s.opts.staleLockTimeout()
	if !stale {
		if data, err := os.ReadFile(path); err == nil {
			pidStr, host, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
			if pid, err := strconv.Atoi(pidStr); ok && err == nil && pid > 0 && host == s.host && pid != os.Getpid() {
				stale = syscall.Kill(pid, 0) == syscall.ESRCH
			}
		}
	}
	if !stale {
		return false
	}
	s.logger().Warn("maildir: breaking stale lock", "path", path, "age", time.Since(fi.ModTime()))
	return os.Remove(path) == nil
}

// unlock removes the lock if it is still ours.
func (l *dotlock) unlock() {
	if l == nil {
		return
	}
	if fi, err := os.Stat(l.path); err == nil && l.ino != 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino != l.ino {
			return // broken and taken by someone else
		}
	}
	os.Remove(l.path)
}
