// Package sessionlock is Dovecot 2.3's POP3 session lock
// (pop3_lock_session): the dotlock dovecot-pop3-session.lock in the
// root of a user's mailbox list, holding "<pid>:<hostname>", which
// store.SessionLocker implementations of the mailbox formats share, so
// that yubin's and Dovecot's POP3 sessions on the same mail exclude each
// other.
//
// The lock is created whole (a written temporary file hard-linked to the
// name; an O_EXCL create where the file system has no hard links). A
// lock held by someone else is waited for until the context is done. It
// is taken over when it is stale, as Dovecot judges it: it names a
// process on this host that no longer exists, or (naming no live local
// process) it has not been modified for 5 minutes; a lock that names
// this process but that this process does not hold was left by an
// earlier process with the same pid; an empty lock is an interrupted
// O_EXCL create and is taken over after 5 seconds. A lock that names a
// live process on this host is never taken over, whatever its age.
// While held, its mtime is refreshed every minute; Close stops that and
// removes the lock if it is still this one.
//
// maildir, sdbox and mbox all take their session locks here, so that
// the set of locks this process holds (see heldSessionLocks) is one.
package sessionlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Name is the lock's file name, Dovecot 2.3's POP3_LOCK_FNAME.
const Name = "dovecot-pop3-session.lock"

// Defaults of Locker's timings.
const (
	// DefaultStale is Dovecot's POP3_SESSION_DOTLOCK_STALE_TIMEOUT_SECS.
	DefaultStale = 300 * time.Second
	// DefaultRefresh is how often a held lock's mtime is brought up to
	// date (Dovecot touches its own every 300 s).
	DefaultRefresh = 60 * time.Second
	// EmptyLockGrace is how long an empty lock (an interrupted O_EXCL
	// create) is respected.
	EmptyLockGrace = 5 * time.Second
	// maxPoll is the longest pause between two attempts while waiting.
	maxPoll = 200 * time.Millisecond
)

// Locker takes the session lock of one mailbox list root.
type Locker struct {
	// Dir is the mailbox list's root, where the lock file goes.
	Dir string
	// Host is written into the lock after the pid; empty means
	// os.Hostname().
	Host string
	// Format prefixes errors and log messages ("sdbox", "mbox").
	Format string
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// Chown, when set, is called on each file created (to give it to
	// the mail user).
	Chown func(path string)
	// Stale and Refresh replace DefaultStale and DefaultRefresh when
	// set (tests).
	Stale, Refresh time.Duration

	seq atomic.Uint64
}

func (s *Locker) staleAfter() time.Duration {
	if s.Stale > 0 {
		return s.Stale
	}
	return DefaultStale
}

func (s *Locker) refreshEvery() time.Duration {
	if s.Refresh > 0 {
		return s.Refresh
	}
	return DefaultRefresh
}

func (s *Locker) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Locker) host() string {
	if s.Host != "" {
		return s.Host
	}
	return osHostname()
}

// Lock takes the lock (store.SessionLocker.LockSession's contract).
func (s *Locker) Lock(ctx context.Context) (store.SessionLock, error) {
	path := filepath.Join(s.Dir, Name)
	content := []byte(strconv.Itoa(os.Getpid()) + ":" + s.host())
	var tmp tempLock
	defer tmp.remove()
	wait, broken := 5*time.Millisecond, 0
	for {
		l, err := s.try(path, content, &tmp)
		if err == nil {
			go l.refresh()
			return l, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s: session lock %s: %w", s.Format, path, err)
		}
		if broken < 10 && s.breakStale(path) {
			broken++
			continue
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %s is held by another session: %w (%w)", s.Format, path, store.ErrMailboxInUse, ctx.Err())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			// One more attempt, then the answer.
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, maxPoll)
	}
}

// createFile creates path with content, O_EXCL.
func (s *Locker) createFile(path string, content []byte) (uint64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	_, werr := f.Write(content)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(path)
		return 0, errors.Join(werr, cerr)
	}
	if s.Chown != nil {
		s.Chown(path)
	}
	return 0, nil
}

// heldSessionLocks are the session lock files this process holds. A
// lock file naming this process's pid is either one of them or was left
// by an earlier process that had the same pid (a restarted container's
// pid 1): Dovecot overrides a lock with its own pid, and this set lets
// yubin, which holds many sessions' locks in one process, do the same
// without overriding its own live ones. Files are told apart by device
// and inode, so two Stores opened on one Maildir through different paths
// agree. The set is process-wide because the pid it stands for is;
// heldSessionMu also orders creating and breaking locks within the
// process.
var (
	heldSessionMu    sync.Mutex
	heldSessionLocks = map[fileID]bool{}
)

// fileID identifies a file.
type fileID struct{ dev, ino uint64 }

func fileIDOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

// osHostname is the system's host name, which Dovecot writes into its
// locks (Options.Hostname may differ from it).
var osHostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// tempLock is the written file LockSession links to the lock's name; it
// is made once per LockSession call and removed when the call returns.
type tempLock struct {
	path string
	id   fileID
}

func (t *tempLock) remove() {
	if t.path != "" {
		os.Remove(t.path)
		t.path = ""
	}
}

// trySessionLock makes one attempt at creating the lock at path. It
// fails with an os.ErrExist error when the lock exists.
func (s *Locker) try(path string, content []byte, tmp *tempLock) (*sessionLock, error) {
	if tmp.path == "" {
		p := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1))
		if _, err := s.createFile(p, content); err != nil {
			return nil, err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			os.Remove(p)
			return nil, err
		}
		tmp.path, tmp.id = p, fileIDOf(fi)
	} else {
		// The lock's age is its mtime: make it start now.
		now := time.Now()
		os.Chtimes(tmp.path, now, now)
	}
	heldSessionMu.Lock()
	defer heldSessionMu.Unlock()
	err := os.Link(tmp.path, path)
	switch {
	case err == nil:
		tmp.remove()
		return s.newLock(path, tmp.id, content), nil
	case errors.Is(err, os.ErrExist):
		return nil, err
	case errors.Is(err, os.ErrNotExist):
		// The temporary file was removed under us (a cleanup by another
		// program); the next attempt makes a new one.
		tmp.path = ""
		return nil, &os.PathError{Op: "link", Path: path, Err: os.ErrExist}
	}
	// No hard links here (some FUSE or network file systems): an O_EXCL
	// lock, as Dovecot's dotlock_use_excl.
	tmp.remove()
	if _, err := s.createFile(path, content); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return s.newLock(path, fileIDOf(fi), content), nil
}

// newSessionLock records a lock just created (heldSessionMu held).
func (s *Locker) newLock(path string, id fileID, content []byte) *sessionLock {
	heldSessionLocks[id] = true
	return &sessionLock{s: s, path: path, id: id, content: string(content), stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
}

// breakStaleSessionLock removes the lock at path when it is stale and
// reports whether it did (or found it gone), so that the caller retries
// at once.
func (s *Locker) breakStale(path string) bool {
	heldSessionMu.Lock()
	defer heldSessionMu.Unlock()
	fi, err := os.Lstat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	why := s.stale(path, fi)
	if why == "" {
		return false
	}
	// Remove it only if it is still the file judged: another process
	// may have broken it and taken the lock meanwhile.
	fi2, err := os.Lstat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	if !os.SameFile(fi, fi2) || !fi.ModTime().Equal(fi2.ModTime()) {
		return true
	}
	s.logger().Warn(s.Format+": breaking stale POP3 session lock", "path", path, "why", why, "age", time.Since(fi.ModTime()).Round(time.Second))
	err = os.Remove(path)
	return err == nil || errors.Is(err, os.ErrNotExist)
}

// StaleReason tells why the lock at path is stale (would be taken over
// now), or "" when it is not or cannot be read.
func (s *Locker) StaleReason(path string) string {
	heldSessionMu.Lock()
	defer heldSessionMu.Unlock()
	fi, err := os.Lstat(path)
	if err != nil {
		return ""
	}
	return s.stale(path, fi)
}

// stale tells why the lock at path (stat fi) is stale, or "" when it is
// not (heldSessionMu held).
func (s *Locker) stale(path string, fi os.FileInfo) string {
	age := time.Since(fi.ModTime())
	content, err := readLockContent(path)
	if err != nil {
		return "" // gone or unreadable: judged again at the next attempt
	}
	if content == "" {
		if age > EmptyLockGrace {
			return "empty"
		}
		return ""
	}
	pidStr, host, ok := strings.Cut(content, ":")
	pid, err := strconv.Atoi(pidStr)
	if ok && err == nil && pid > 0 && (host == s.host() || host == osHostname()) {
		if pid == os.Getpid() {
			if heldSessionLocks[fileIDOf(fi)] {
				return ""
			}
			return "left by an earlier process with this pid"
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return "process " + pidStr + " is gone"
		}
		return "" // a live local process: never stale, as in Dovecot
	}
	if age > s.staleAfter() {
		return "not refreshed"
	}
	return ""
}

// readLockContent returns a dotlock's content without a final newline,
// reading at most 511 bytes (as Dovecot does).
func readLockContent(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 511)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	return strings.TrimSuffix(string(buf[:n]), "\n"), nil
}

// sessionLock is a held session lock (store.SessionLocker).
type sessionLock struct {
	s       *Locker
	path    string
	id      fileID
	content string

	once sync.Once
	stop chan struct{} // closed by Close
	done chan struct{} // closed when refresh has returned
	lost chan struct{} // closed when refresh found the lock taken
	err  error         // Close's result
}

// Lost implements store.SessionLock.
func (l *sessionLock) Lost() <-chan struct{} { return l.lost }

// ours reports whether the lock file at l.path is still l's: the same
// file, and since inode numbers are reused at once, still with l's
// content.
func (l *sessionLock) ours() (bool, error) {
	fi, err := os.Lstat(l.path)
	if err != nil {
		return false, err
	}
	if fileIDOf(fi) != l.id {
		return false, nil
	}
	content, err := readLockContent(l.path)
	return err == nil && content == l.content, err
}

// refresh brings the lock's mtime up to date every sessionLockRefresh
// until Close, so that it never looks abandoned. It stops early when
// the lock has been taken over (Close then reports it).
func (l *sessionLock) refresh() {
	defer close(l.done)
	t := time.NewTicker(l.s.refreshEvery())
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if ok, err := l.ours(); !ok {
			l.s.logger().Warn(l.s.Format+": POP3 session lock lost while held", "path", l.path, "err", err)
			close(l.lost)
			return
		}
		now := time.Now()
		if err := os.Chtimes(l.path, now, now); err != nil {
			l.s.logger().Warn(l.s.Format+": refreshing POP3 session lock failed", "path", l.path, "err", err)
		}
	}
}

// Close releases the lock: it stops the refresh and removes the lock
// file if it is still this lock's. It reports an error when the lock
// was removed or taken over by someone else meanwhile.
func (l *sessionLock) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		heldSessionMu.Lock()
		defer heldSessionMu.Unlock()
		delete(heldSessionLocks, l.id)
		ok, err := l.ours()
		switch {
		case ok:
			if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.err = fmt.Errorf(l.s.Format+": removing session lock: %w", err)
			}
		case err != nil && !errors.Is(err, os.ErrNotExist):
			l.err = fmt.Errorf(l.s.Format+": session lock: %w", err)
		default:
			l.err = fmt.Errorf(l.s.Format+": session lock %s was taken over while held", l.path)
			l.s.logger().Warn(l.s.Format+": POP3 session lock was taken over while held", "path", l.path)
		}
	})
	return l.err
}
