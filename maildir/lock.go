package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// default dotlocks do: a file that already holds the content is
// hard-linked to the lock's name, so that a lock never exists without
// the pid that lets others break it once that process is dead (a
// process killed between creating the lock and writing it would
// otherwise leave an anonymous lock for StaleLockTimeout).
//
// Unlike Dovecot, which writes a new temporary file for every lock and
// removes it after the link, the Store keeps that file (its lock source)
// for the next lock of the same path. Taking and releasing a lock then
// allocates and frees no inode: on a file system without a journal,
// ext4 skips recently freed inodes when it allocates one, and a dotlock
// per delivery made every message file's creation slower. The source's
// mtime is brought up to date before it is linked, so the lock's age
// (what breakStale and Dovecot read) starts when it is taken.
//
// It fails with an os.ErrExist error when the lock is held.
func (s *Store) tryLock(path string, content []byte) (*dotlock, error) {
	src, err := s.locks.source(s, path, content)
	if err != nil {
		return nil, err
	}
	src.touch()
	err = os.Link(src.path, path)
	if errors.Is(err, os.ErrNotExist) {
		// The source was removed under us (a folder renamed or
		// deleted, a cleanup by another program): make a new one.
		s.locks.forget(path, src)
		if src, err = s.locks.source(s, path, content); err != nil {
			return nil, err
		}
		src.touch()
		err = os.Link(src.path, path)
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		// No hard links here (some FUSE or network file systems): an
		// O_EXCL lock, as Dovecot's use_excl_lock.
		s.locks.forget(path, src)
		os.Remove(src.path)
		return s.tryLockExcl(path, content)
	}
	if err != nil {
		return nil, err
	}
	return &dotlock{path: path, ino: src.ino}, nil
}

// lockSource is a file holding a dotlock's content, linked to the lock's
// name to take the lock.
type lockSource struct {
	path    string
	ino     uint64
	touched atomic.Int64 // when its mtime was last set, in UnixNano
}

// sourceTouchEvery is how old a lock source's mtime may be when it is
// linked; a lock is never taken looking older than this.
const sourceTouchEvery = 100 * time.Millisecond

// touch sets the source's mtime to now unless that was done within
// sourceTouchEvery.
func (src *lockSource) touch() {
	now := time.Now()
	if now.UnixNano()-src.touched.Load() < int64(sourceTouchEvery) {
		return
	}
	if os.Chtimes(src.path, now, now) == nil {
		src.touched.Store(now.UnixNano())
	}
}

// lockSources are a Store's lock sources by lock path, named
// "<lock path>.<pid>.<n>.tmp" next to the lock: cleanTmp leaves those of
// this process alone and removes others' after tmpMaxAge; Store.Close
// removes them.
type lockSources struct {
	mu   sync.Mutex
	srcs map[string]*lockSource
}

// source returns the lock source for the lock at path, creating it when
// needed.
func (ls *lockSources) source(s *Store, path string, content []byte) (*lockSource, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if src, ok := ls.srcs[path]; ok {
		return src, nil
	}
	src := &lockSource{path: fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1))}
	ino, err := s.createLockFile(src.path, content)
	if err != nil {
		return nil, err
	}
	src.ino = ino
	src.touched.Store(time.Now().UnixNano())
	if ls.srcs == nil {
		ls.srcs = map[string]*lockSource{}
	}
	ls.srcs[path] = src
	return src, nil
}

// forget drops src as the lock source of path.
func (ls *lockSources) forget(path string, src *lockSource) {
	ls.mu.Lock()
	if ls.srcs[path] == src {
		delete(ls.srcs, path)
	}
	ls.mu.Unlock()
}

// removeAll removes every lock source; a lock linked from one stays held
// until unlocked.
func (ls *lockSources) removeAll() {
	ls.mu.Lock()
	srcs := ls.srcs
	ls.srcs = nil
	ls.mu.Unlock()
	for _, src := range srcs {
		os.Remove(src.path)
	}
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
	age := time.Since(fi.ModTime())
	stale := age > s.opts.staleLockTimeout()
	if !stale && fi.Size() == 0 {
		// Neither Dovecot nor yubin leaves a lock without its owner
		// (both link a written file into place); an empty one is left
		// by a writer killed between create and write (O_EXCL locks).
		stale = age > emptyLockGrace
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
	s.logger().Warn("maildir: breaking stale lock", "path", path, "age", age)
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
