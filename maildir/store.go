package maildir

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/internal/atomicfile"
	"github.com/yubinmail/yubin/internal/sessionlock"
	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Store is one user's Maildir++ tree. It implements store.Store and is
// safe for concurrent use. Mailbox handles opened from one Store see each
// other's changes at once; changes made by other processes (or another
// Store on the same directory) are found on disk.
type Store struct {
	root string
	opts Options
	host string

	chownFiles bool
	uid, gid   int

	seq atomic.Uint64

	locks     lockSources // dotlock files to link, one per lock path
	noTmpfile atomic.Bool // deliveries write named files in tmp/ (tmpfile.go)
	// linkTmpfile, when set, replaces the link that names an unnamed
	// file (tests make it fail).
	linkTmpfile func(f *os.File, to string) error

	sessionLock sessionlock.Locker // POP3's (sessionlock.go)

	mu     sync.Mutex
	boxes  map[string]*mbox // by directory
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the Maildir++ tree at root: root
// itself is INBOX (cur, new, tmp) and every other mailbox is a ".Name"
// folder inside it. Configured auto mailboxes are created and
// subscribed.
//
// When the program runs as root and root is owned by another user (a
// mail user, as Dovecot expects), files and directories yubin creates are
// given to that user.
func Open(root string, opts Options) (*Store, error) {
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	s := &Store{root: filepath.Clean(root), opts: opts, boxes: map[string]*mbox{}}
	s.host = opts.Hostname
	if s.host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		s.host = h
	}
	s.host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(s.host)
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return nil, fmt.Errorf("maildir: create %s: %w", s.root, err)
	}
	if fi, err := os.Stat(s.root); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
			s.chownFiles, s.uid, s.gid = true, int(st.Uid), int(st.Gid)
		}
	}
	if err := s.makeMaildir(s.root); err != nil {
		return nil, err
	}
	s.sessionLock = sessionlock.Locker{Dir: s.root, Host: s.host, Format: "maildir", Logger: s.opts.Logger, Chown: s.chown}
	if err := s.createAuto(); err != nil {
		return nil, err
	}
	if s.quotaEnabled() {
		if err := s.checkMaildirsize(); err != nil {
			s.logger().Warn("maildir: maildirsize", "err", err)
		}
	}
	return s, nil
}

// Root returns the Maildir's root directory.
func (s *Store) Root() string { return s.root }

func (s *Store) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// makeMaildir creates cur, new and tmp under dir.
func (s *Store) makeMaildir(dir string) error {
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return fmt.Errorf("maildir: create %s: %w", p, err)
		}
		s.chown(p)
	}
	return nil
}

func (s *Store) chown(path string) {
	if s.chownFiles {
		os.Lchown(path, s.uid, s.gid)
	}
}

// writeFileAtomic writes data to path through a temporary file and
// rename, fsyncing file and directory when durable is set.
func (s *Store) writeFileAtomic(path string, data []byte, durable bool) error {
	err := atomicfile.WriteWith(path, data, atomicfile.Options{
		Temp:   fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.seq.Add(1)),
		Chown:  func(f *os.File) error { s.chown(f.Name()); return nil },
		NoSync: !durable || s.opts.NoSync,
	})
	if err != nil {
		return fmt.Errorf("maildir: write %s: %w", path, err)
	}
	return nil
}

// uniqueBase returns a new message base name in Dovecot's style,
// <secs>.M<usecs>P<pid>Q<n>.<host>.
func (s *Store) uniqueBase(now time.Time) string {
	return deliveryBase(now, s.seq.Add(1), s.host)
}

// Close releases the store's mailbox states. Open mailbox handles stay
// usable.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	boxes := s.boxes
	s.boxes = map[string]*mbox{}
	s.mu.Unlock()
	for _, m := range boxes {
		m.flushCache(true)
	}
	s.locks.removeAll()
	return nil
}
