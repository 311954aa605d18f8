package sdbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Store is one user's sdbox tree (Dovecot's mail_location =
// sdbox:ROOT). It implements store.Store and is safe for concurrent
// use. Handles opened from one Store notify each other at once; changes
// made by Dovecot or another process are found in the transaction log.
type Store struct {
	root string
	opts Options
	host string

	chownFiles bool
	uid, gid   int

	seq atomic.Uint64

	// noTmpfile: unnamed files do not work here (tmpfile.go);
	// tmpfileProbed: they were tried once and do.
	noTmpfile, tmpfileProbed atomic.Bool

	mu     sync.Mutex
	hubs   map[string]*hub // by dbox-Mails directory
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the sdbox tree at root: mailboxes
// live in root/mailboxes/<name>/dbox-Mails, INBOX included. Configured
// auto mailboxes are created and subscribed.
//
// When the program runs as root and root is owned by another user (the
// mail user Dovecot runs as), files and directories yubin creates are
// given to that user.
func Open(root string, opts Options) (*Store, error) {
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	s := &Store{root: filepath.Clean(root), opts: opts, hubs: map[string]*hub{}}
	s.host = opts.Hostname
	if s.host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		s.host = h
	}
	s.host = strings.NewReplacer("/", "_", ".", "_").Replace(s.host)
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return nil, fmt.Errorf("sdbox: create %s: %w", s.root, err)
	}
	if fi, err := os.Stat(s.root); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
			s.chownFiles, s.uid, s.gid = true, int(st.Uid), int(st.Gid)
		}
	}
	if err := s.mkdir(filepath.Join(s.root, "mailboxes")); err != nil {
		return nil, err
	}
	if err := s.ensureMailbox(store.Inbox); err != nil {
		return nil, err
	}
	if err := s.createAuto(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// Close releases the store's shared state. Open mailbox handles stay
// usable.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

func (s *Store) mkdir(p string) error {
	if err := os.Mkdir(p, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return fmt.Errorf("sdbox: create %s: %w", p, err)
	}
	s.chown(p)
	return nil
}

// mkdirAll creates p and its missing parents, each given to the mail
// user.
func (s *Store) mkdirAll(p string) error {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return nil
	}
	if parent := filepath.Dir(p); parent != p {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	return s.mkdir(p)
}

func (s *Store) chown(path string) {
	if s.chownFiles {
		os.Lchown(path, s.uid, s.gid)
	}
}

// writeFileAtomic writes data to path through a temporary file and
// rename, fsyncing file and directory when durable is set.
func (s *Store) writeFileAtomic(path string, data []byte, durable bool) error {
	tmp := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && durable && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		s.chown(tmp)
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sdbox: write %s: %w", path, err)
	}
	if durable {
		return s.syncDir(filepath.Dir(path))
	}
	return nil
}

// syncDir fsyncs a directory so that a rename into it is durable.
func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	return syncfs.Dir(dir)
}

// newGUID returns a random 128-bit GUID.
func newGUID() (g [16]byte) {
	rand.Read(g[:])
	return g
}

// SyncDeliveries makes durable every append made through this Store
// (and, for a Store of a Backend, through the Backend's other Stores)
// with store.AppendOptions.NoSync before the call: one syncfs per file
// system, shared by the callers waiting at that moment
// (store.DeliverySyncer).
func (s *Store) SyncDeliveries(ctx context.Context) error {
	if err := s.opts.pending.Sync(ctx); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	return nil
}
