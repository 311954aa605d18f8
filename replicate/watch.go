package replicate

import (
	"context"
	"io"

	"github.com/yubinmail/yubin/store"
)

// Priority is a sync request's priority, as Dovecot's replicator has
// them (none < low < high < sync).
type Priority int

// The priorities: a new message asks for high, other changes (flags,
// expunges, mailbox changes) for low; sync is for a caller that waits.
const (
	PriorityNone Priority = iota
	PriorityLow
	PriorityHigh
	PrioritySync
)

func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityHigh:
		return "high"
	case PrioritySync:
		return "sync"
	}
	return "none"
}

// Notifier receives a user's changes (Replicator.Notify).
type Notifier interface {
	Notify(user string, p Priority)
}

// WatchBackend wraps a Backend so that every change made through the
// stores it opens (IMAP, POP3, LMTP and local delivery all change mail
// through them) is reported to n, the way Dovecot's replication plugin
// reports mail changes to its replicator. The Replicator and Server
// must use the unwrapped Backend: their own changes are not reported.
//
// The returned stores keep the inner store's optional interfaces that
// the protocols look for (store.SessionLocker, a Deliver method); the
// Backend keeps store.DeliverySyncer and io.Closer.
func WatchBackend(b store.Backend, n Notifier) store.Backend {
	return &watchBackend{inner: b, n: n}
}

type watchBackend struct {
	inner store.Backend
	n     Notifier
}

func (w *watchBackend) Open(ctx context.Context, user string) (store.Store, error) {
	st, err := w.inner.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	ws := &watchStore{Store: st, user: user, n: w.n}
	if sl, ok := st.(store.SessionLocker); ok {
		return &watchLockerStore{watchStore: ws, sl: sl}, nil
	}
	return ws, nil
}

// SyncDeliveries implements store.DeliverySyncer when the inner Backend
// does (and does nothing otherwise).
func (w *watchBackend) SyncDeliveries(ctx context.Context) error {
	if s, ok := w.inner.(store.DeliverySyncer); ok {
		return s.SyncDeliveries(ctx)
	}
	return nil
}

// Close closes the inner Backend when it is an io.Closer.
func (w *watchBackend) Close() error {
	if c, ok := w.inner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

type watchStore struct {
	store.Store
	user string
	n    Notifier
}

type watchLockerStore struct {
	*watchStore
	sl store.SessionLocker
}

func (s *watchLockerStore) LockSession(ctx context.Context) (store.SessionLock, error) {
	return s.sl.LockSession(ctx)
}

func (s *watchStore) note(p Priority, err error) {
	if err == nil {
		s.n.Notify(s.user, p)
	}
}

func (s *watchStore) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	err := s.Store.CreateMailbox(ctx, name, opts)
	s.note(PriorityLow, err)
	return err
}

func (s *watchStore) DeleteMailbox(ctx context.Context, name string) error {
	err := s.Store.DeleteMailbox(ctx, name)
	s.note(PriorityLow, err)
	return err
}

func (s *watchStore) RenameMailbox(ctx context.Context, oldName, newName string) error {
	err := s.Store.RenameMailbox(ctx, oldName, newName)
	s.note(PriorityLow, err)
	return err
}

func (s *watchStore) Subscribe(ctx context.Context, name string) error {
	err := s.Store.Subscribe(ctx, name)
	s.note(PriorityLow, err)
	return err
}

func (s *watchStore) Unsubscribe(ctx context.Context, name string) error {
	err := s.Store.Unsubscribe(ctx, name)
	s.note(PriorityLow, err)
	return err
}

// Deliver appends to a mailbox by name (lmtp's direct delivery), through
// the inner store's Deliver when it has one.
func (s *watchStore) Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	type deliverer interface {
		Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error)
	}
	var res store.AppendResult
	var err error
	if d, ok := s.Store.(deliverer); ok {
		res, err = d.Deliver(ctx, mailbox, r, opts)
	} else {
		var h store.Mailbox
		if h, err = s.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{}); err == nil {
			res, err = h.Append(ctx, r, opts)
			h.Close()
		}
	}
	s.note(PriorityHigh, err)
	return res, err
}

func (s *watchStore) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	h, err := s.Store.OpenMailbox(ctx, name, opts)
	if err != nil || opts.ReadOnly {
		return h, err
	}
	return &watchMailbox{Mailbox: h, s: s}, nil
}

type watchMailbox struct {
	store.Mailbox
	s *watchStore
}

func (m *watchMailbox) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	res, err := m.Mailbox.Append(ctx, r, opts)
	m.s.note(PriorityHigh, err)
	return res, err
}

func (m *watchMailbox) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, unchangedSince uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	up, failed, err := m.Mailbox.SetFlags(ctx, uids, op, flags, unchangedSince)
	if err == nil && len(up) > 0 {
		m.s.n.Notify(m.s.user, PriorityLow)
	}
	return up, failed, err
}

func (m *watchMailbox) Expunge(ctx context.Context, uids store.UIDSet) ([]uint32, error) {
	ex, err := m.Mailbox.Expunge(ctx, uids)
	if err == nil && len(ex) > 0 {
		m.s.n.Notify(m.s.user, PriorityLow)
	}
	return ex, err
}

func (m *watchMailbox) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	res, err := m.Mailbox.Copy(ctx, uids, dest)
	m.s.note(PriorityHigh, err)
	return res, err
}

func (m *watchMailbox) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	res, err := m.Mailbox.Move(ctx, uids, dest)
	m.s.note(PriorityHigh, err)
	return res, err
}
