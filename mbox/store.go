package mbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/yubinmail/yubin/internal/syncfs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// Store is one user's mbox mail: a root directory of mailbox files (and
// directories for the hierarchy) plus the INBOX file, which may live
// elsewhere (the spool). It implements store.Store.
type Store struct {
	root  string
	inbox string
	opts  Options
	log   *slog.Logger
	host  string

	mu     sync.Mutex
	boxes  map[string]*box
	closed bool

	uvMu   sync.Mutex
	lastUV uint32
}

var _ store.Store = (*Store)(nil)

// Open opens the mbox store whose mailboxes live under root (Dovecot's
// mbox:ROOT), creating root if needed.
func Open(root string, opts Options) (*Store, error) {
	if root == "" {
		return nil, errors.New("mbox: empty root")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	if opts.pending == nil {
		opts.pending = &syncfs.Pending{}
	}
	s := &Store{root: filepath.Clean(root), opts: opts, log: opts.Logger, boxes: map[string]*box{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.inbox = opts.Inbox
	if s.inbox == "" {
		s.inbox = filepath.Join(s.root, "inbox")
	}
	s.inbox = filepath.Clean(s.inbox)
	if err := os.MkdirAll(filepath.Dir(s.inbox), 0o700); err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	s.host = opts.Hostname
	if s.host == "" {
		s.host, _ = os.Hostname()
	}
	s.host = strings.NewReplacer("/", "_", ":", "_").Replace(s.host)
	if err := os.MkdirAll(s.indexRoot(), 0o700); err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	for _, am := range opts.AutoMailboxes {
		err := s.CreateMailbox(context.Background(), am.Name, store.CreateOptions{SpecialUse: am.SpecialUse})
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return nil, err
		}
		if am.SpecialUse != "" {
			s.setSpecialUse(am.Name, am.SpecialUse)
		}
		if am.Auto == store.AutoSubscribe {
			if err := s.Subscribe(context.Background(), am.Name); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Root returns the directory the store was opened on.
func (s *Store) Root() string { return s.root }

// InboxPath returns the path of the INBOX file.
func (s *Store) InboxPath() string { return s.inbox }

// indexRoot is Dovecot's index directory for mbox (~/mail/.imap), where
// yubin keeps its own small per-mailbox state files too.
func (s *Store) indexRoot() string { return filepath.Join(s.root, ".imap") }

// indexDir is a mailbox's directory under indexRoot, as Dovecot names it.
func (s *Store) indexDir(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = mutf7.Encode(l)
	}
	return filepath.Join(append([]string{s.indexRoot()}, levels...)...)
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	// The mailbox files (readers still open keep theirs) and the
	// replaced ones watched, whose recovery links the next Store finds.
	for _, b := range s.boxes {
		b.mu.Lock()
		b.rf.release()
		b.rf = nil
		for _, r := range b.retired {
			r.f.Close()
		}
		b.retired = nil
		b.mu.Unlock()
	}
	return nil
}

// newUIDValidity returns a UIDVALIDITY for a new mailbox: the time, kept
// increasing within the process.
func (s *Store) newUIDValidity() uint32 {
	s.uvMu.Lock()
	defer s.uvMu.Unlock()
	uv := uint32(time.Now().Unix())
	if uv <= s.lastUV {
		uv = s.lastUV + 1
	}
	s.lastUV = uv
	return uv
}

// box returns the shared state of a selectable mailbox, checking that it
// exists.
func (s *Store) box(name string) (*box, error) {
	name = store.CanonicalName(name)
	if err := s.validName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	if b := s.boxes[name]; b != nil {
		return b, nil
	}
	path, err := s.mailboxPath(name)
	if err != nil {
		return nil, err
	}
	if name != store.Inbox {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("mbox: %q: %w", name, store.ErrNoSuchMailbox)
		}
	}
	b := newBox(s, name, path)
	s.boxes[name] = b
	return b, nil
}

// OpenMailbox implements store.Store.
func (s *Store) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	b, err := s.box(name)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, opts.ReadOnly)
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	b, err := s.box(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		return store.MailboxStatus{}, err
	}
	return statusOf(b.msgs, b.uidValidity, b.nextUID, b.highest), nil
}

// statusOf computes counters over msgs.
func statusOf(msgs []*msg, uv, next uint32, highest uint64) store.MailboxStatus {
	st := store.MailboxStatus{UIDValidity: uv, UIDNext: next, HighestModSeq: highest, Messages: uint32(len(msgs))}
	for _, m := range msgs {
		if m.flags.System&store.Seen == 0 {
			st.Unseen++
		}
		if m.flags.System&store.Deleted != 0 {
			st.Deleted++
		}
		st.Size += m.vsize
	}
	return st
}

// Quota implements store.Store: the sizes of every mailbox.
func (s *Store) Quota(ctx context.Context) (store.Quota, error) {
	q := store.Quota{StorageLimit: s.opts.QuotaStorage, MessagesLimit: s.opts.QuotaMessages}
	list, err := s.ListMailboxes(ctx)
	if err != nil {
		return q, err
	}
	for _, mi := range list {
		if mi.NoSelect {
			continue
		}
		st, err := s.Status(ctx, mi.Name)
		if err != nil {
			if errors.Is(err, store.ErrNoSuchMailbox) {
				continue
			}
			return q, err
		}
		q.StorageUsed += st.Size
		q.MessagesUsed += int64(st.Messages)
	}
	return q, nil
}

// writeFileAtomic writes data to path through a temporary file and
// rename, with fsync unless NoSync.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	return s.writeFileVia(path, data, true)
}

// writeFileVia writes data to a temporary file beside path (fsynced
// unless NoSync) and puts it in place: renamed over whatever is there
// when replace is set, else linked, failing with os.ErrExist when path
// exists.
func (s *Store) writeFileVia(path string, data []byte, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && replace {
		err = os.Rename(f.Name(), path)
	} else if err == nil {
		err = os.Link(f.Name(), path)
		os.Remove(f.Name())
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("mbox: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory so a rename or create in it is durable.
func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SyncDeliveries makes durable every append made through this Store
// (and, for a Store of a Backend, through the Backend's other Stores)
// with store.AppendOptions.NoSync before the call: one syncfs per file
// system, shared by the callers waiting at that moment
// (store.DeliverySyncer).
func (s *Store) SyncDeliveries(ctx context.Context) error {
	if err := s.opts.pending.Sync(ctx); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	return nil
}
