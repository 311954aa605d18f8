package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
)

// SessionLockName is the POP3 session lock's file name in the Maildir
// root, Dovecot 2.3's (pop3_lock_session, POP3_LOCK_FNAME).
const SessionLockName = "dovecot-pop3-session.lock"

// Timings of the session lock; variables so that tests can shorten them.
var (
	// sessionLockStale is the age after which a session lock that was not
	// refreshed is abandoned, unless it names a live process on this
	// host: Dovecot's POP3_SESSION_DOTLOCK_STALE_TIMEOUT_SECS (5 min).
	sessionLockStale = 300 * time.Second
	// sessionLockRefresh is how often a held lock's mtime is brought up
	// to date: well within sessionLockStale (Dovecot touches its own
	// every 300 s).
	sessionLockRefresh = 60 * time.Second
	// sessionLockMaxPoll is the longest pause between two attempts while
	// waiting for a held lock (the pause starts at 5 ms and doubles).
	sessionLockMaxPoll = 200 * time.Millisecond
)

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

var _ store.SessionLocker = (*Store)(nil)

// LockSession implements store.SessionLocker with Dovecot 2.3's
// pop3_lock_session lock, so that yubin and Dovecot POP3 sessions on the
// same Maildir exclude each other: the dotlock SessionLockName in the
// Maildir root, holding "<pid>:<hostname>" like every Dovecot dotlock,
// created whole (a written temporary file hard-linked to the name; an
// O_EXCL create where the file system has no hard links).
//
// A lock held by someone else is waited for until ctx is done. It is
// taken over when it is stale, as Dovecot judges it: it names a process
// on this host that no longer exists, or (when it names no live local
// process) it has not been modified for 5 minutes; a lock that names this
// process but that this process does not hold was left by an earlier
// process with the same pid; an empty lock is an interrupted O_EXCL
// create and is taken over after 5 seconds. A lock that names a live
// process on this host is never taken over, whatever its age.
//
// While held, the lock's mtime is refreshed every minute (Dovecot's
// holders refresh theirs every 5 minutes). Close stops that and removes
// the lock if it is still this one.
func (s *Store) LockSession(ctx context.Context) (store.SessionLock, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, store.ErrClosed
	}
	path := filepath.Join(s.root, SessionLockName)
	content := []byte(strconv.Itoa(os.Getpid()) + ":" + s.host)
	var tmp tempLock
	defer tmp.remove()
	wait, broken := 5*time.Millisecond, 0
	for {
		l, err := s.trySessionLock(path, content, &tmp)
		if err == nil {
			go l.refresh()
			return l, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("maildir: session lock %s: %w", path, err)
		}
		if broken < 10 && s.breakStaleSessionLock(path) {
			broken++
			continue
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("maildir: %s is held by another session: %w (%w)", path, store.ErrMailboxInUse, ctx.Err())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			// One more attempt, then the answer.
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, sessionLockMaxPoll)
	}
}

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
func (s *Store) trySessionLock(path string, content []byte, tmp *tempLock) (*sessionLock, error) {
	if tmp.path == "" {
		p := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1))
		if _, err := s.createLockFile(p, content); err != nil {
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
		return s.newSessionLock(path, tmp.id, content), nil
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
	if _, err := s.createLockFile(path, content); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return s.newSessionLock(path, fileIDOf(fi), content), nil
}

// newSessionLock records a lock just created (heldSessionMu held).
func (s *Store) newSessionLock(path string, id fileID, content []byte) *sessionLock {
	heldSessionLocks[id] = true
	return &sessionLock{s: s, path: path, id: id, content: string(content), stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
}

// breakStaleSessionLock removes the lock at path when it is stale and
// reports whether it did (or found it gone), so that the caller retries
// at once.
func (s *Store) breakStaleSessionLock(path string) bool {
	heldSessionMu.Lock()
	defer heldSessionMu.Unlock()
	fi, err := os.Lstat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	why := s.sessionLockStale(path, fi)
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
	s.logger().Warn("maildir: breaking stale POP3 session lock", "path", path, "why", why, "age", time.Since(fi.ModTime()).Round(time.Second))
	err = os.Remove(path)
	return err == nil || errors.Is(err, os.ErrNotExist)
}

// sessionLockStale tells why the lock at path (stat fi) is stale, or ""
// when it is not (heldSessionMu held).
func (s *Store) sessionLockStale(path string, fi os.FileInfo) string {
	age := time.Since(fi.ModTime())
	content, err := readLockContent(path)
	if err != nil {
		return "" // gone or unreadable: judged again at the next attempt
	}
	if content == "" {
		if age > emptyLockGrace {
			return "empty"
		}
		return ""
	}
	pidStr, host, ok := strings.Cut(content, ":")
	pid, err := strconv.Atoi(pidStr)
	if ok && err == nil && pid > 0 && (host == s.host || host == osHostname()) {
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
	if age > sessionLockStale {
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
	s       *Store
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
	t := time.NewTicker(sessionLockRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if ok, err := l.ours(); !ok {
			l.s.logger().Warn("maildir: POP3 session lock lost while held", "path", l.path, "err", err)
			close(l.lost)
			return
		}
		now := time.Now()
		if err := os.Chtimes(l.path, now, now); err != nil {
			l.s.logger().Warn("maildir: refreshing POP3 session lock failed", "path", l.path, "err", err)
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
				l.err = fmt.Errorf("maildir: removing session lock: %w", err)
			}
		case err != nil && !errors.Is(err, os.ErrNotExist):
			l.err = fmt.Errorf("maildir: session lock: %w", err)
		default:
			l.err = fmt.Errorf("maildir: session lock %s was taken over while held", l.path)
			l.s.logger().Warn("maildir: POP3 session lock was taken over while held", "path", l.path)
		}
	})
	return l.err
}
