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

// emptyLockGrace is how long an empty dotlock is respected before it is
// taken as abandoned.
const emptyLockGrace = 5 * time.Second

func (s *Store) lock(ctx context.Context, path string) (*dotlock, error) {
	content := []byte(strconv.Itoa(os.Getpid()) + ":" + s.host)
	deadline := time.Now().Add(s.opts.lockTimeout())
	wait := time.Millisecond
	for {
		l, err := s.tryLock(path, content)
		if err == nil {
			return l, nil
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

// tryLock creates the lock at path holding content, the way Dovecot's
// default dotlocks do: the content is written to a temporary file first,
// which is then hard-linked to the lock's name, so that a lock never
// exists without the pid that lets others break it once that process
// is dead (a process killed between creating the lock and writing it
// would otherwise leave an anonymous lock for StaleLockTimeout).
// It fails with an os.ErrExist error when the lock is held.
func (s *Store) tryLock(path string, content []byte) (*dotlock, error) {
	tmp := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1))
	ino, err := s.createLockFile(tmp, content)
	if err != nil {
		return nil, err
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, os.ErrExist) {
		// No hard links here (some FUSE or network file systems): an
		// O_EXCL lock, as Dovecot's use_excl_lock.
		os.Remove(tmp)
		return s.tryLockExcl(path, content)
	}
	os.Remove(tmp)
	if err != nil {
		return nil, err
	}
	return &dotlock{path: path, ino: ino}, nil
}

// tryLockExcl creates the lock with O_EXCL and then writes it.
func (s *Store) tryLockExcl(path string, content []byte) (*dotlock, error) {
	ino, err := s.createLockFile(path, content)
	if err != nil {
		return nil, err
	}
	return &dotlock{path: path, ino: ino}, nil
}

// createLockFile creates path exclusively, writes content to it, gives it
// the store's owner and returns its inode number (0 when unknown). The
// file is removed again when writing fails.
func (s *Store) createLockFile(path string, content []byte) (ino uint64, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	_, werr := f.Write(content)
	if fi, err := f.Stat(); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
	}
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(path)
		return 0, errors.Join(werr, cerr)
	}
	s.chown(path)
	return ino, nil
}

// breakStale removes the lock at path when it is stale and reports
// whether it did.
func (s *Store) breakStale(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist) // gone: retry at once
	}
	stale := time.Since(fi.ModTime()) > s.opts.staleLockTimeout()
	if !stale && fi.Size() == 0 {
		// Neither Dovecot nor yubin leaves a lock without its owner
		// (both link a written file into place); an empty one is left
		// by a writer killed between create and write (O_EXCL locks).
		stale = time.Since(fi.ModTime()) > emptyLockGrace
	} else if !stale {
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
