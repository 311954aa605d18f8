package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// ListMailboxes implements store.Store.
func (s *Store) ListMailboxes(ctx context.Context) ([]store.MailboxInfo, error) {
	names, err := s.folders()
	if err != nil {
		return nil, err
	}
	subs, _ := s.Subscriptions(ctx)
	subSet := map[string]bool{}
	for _, n := range subs {
		subSet[n] = true
	}
	special := s.specialUses()
	exists := map[string]bool{store.Inbox: true}
	for _, n := range names {
		exists[n] = true
	}
	all := map[string]*store.MailboxInfo{}
	add := func(n string, noSelect bool) *store.MailboxInfo {
		mi := all[n]
		if mi == nil {
			mi = &store.MailboxInfo{Name: n, NoSelect: noSelect, SpecialUse: special[n], Subscribed: subSet[n]}
			all[n] = mi
		}
		return mi
	}
	add(store.Inbox, false)
	for _, n := range names {
		add(n, false)
		for i := strings.LastIndexByte(n, '/'); i > 0; i = strings.LastIndexByte(n[:i], '/') {
			p := add(n[:i], !exists[n[:i]])
			p.HasChildren = true
		}
	}
	out := make([]store.MailboxInfo, 0, len(all))
	for _, mi := range all {
		out = append(out, *mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateMailbox implements store.Store. Parents are not created as
// folders: in Maildir++ a missing parent is a \Noselect name, as with
// Dovecot.
func (s *Store) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	name, dir, err := s.resolve(name)
	if err != nil {
		return err
	}
	if opts.SpecialUse != "" && !store.IsSpecialUse(opts.SpecialUse) {
		return fmt.Errorf("maildir: special use %q: %w", opts.SpecialUse, store.ErrNotAllowed)
	}
	if name == store.Inbox {
		return fmt.Errorf("maildir: %s: %w", name, store.ErrMailboxExists)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("maildir: %s: %w", name, store.ErrMailboxExists)
		}
		return fmt.Errorf("maildir: create %s: %w", name, err)
	}
	s.chown(dir)
	if err := s.makeMaildir(dir); err != nil {
		return err
	}
	mf := filepath.Join(dir, "maildirfolder")
	if f, err := os.OpenFile(mf, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		f.Close()
		s.chown(mf)
	}
	s.syncDir(s.root)
	if opts.SpecialUse != "" {
		return s.setSpecialUse(ctx, name, opts.SpecialUse)
	}
	return nil
}

// DeleteMailbox implements store.Store. The folder is renamed out of
// sight first, then removed, so a concurrent reader never sees half a
// mailbox.
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	name, dir, err := s.resolve(name)
	if err != nil {
		return err
	}
	if name == store.Inbox {
		return fmt.Errorf("maildir: cannot delete INBOX: %w", store.ErrNotAllowed)
	}
	if !isDir(dir) {
		return fmt.Errorf("maildir: %s: %w", name, store.ErrNoSuchMailbox)
	}
	trash := filepath.Join(s.root, fmt.Sprintf("..yubin-deleted.%d", s.seq.Add(1)))
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("maildir: delete %s: %w", name, err)
	}
	s.forget(dir)
	s.syncDir(s.root)
	if err := os.RemoveAll(trash); err != nil {
		s.logger().Warn("maildir: removing deleted folder", "path", trash, "err", err)
	}
	s.setSpecialUse(ctx, name, "")
	return nil
}

// RenameMailbox implements store.Store.
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	oldName, _, err := s.resolve(oldName)
	if err != nil {
		return err
	}
	newName, newDir, err := s.resolve(newName)
	if err != nil {
		return err
	}
	if newName == store.Inbox || isDir(newDir) {
		return fmt.Errorf("maildir: %s: %w", newName, store.ErrMailboxExists)
	}
	if oldName == store.Inbox {
		return s.renameInbox(ctx, newName, newDir)
	}
	if newName == oldName || strings.HasPrefix(newName, oldName+"/") {
		return fmt.Errorf("maildir: rename %s into itself: %w", oldName, store.ErrNotAllowed)
	}
	names, err := s.folders()
	if err != nil {
		return err
	}
	type mv struct{ from, to, fromName, toName string }
	var moves []mv
	for _, n := range names {
		if n != oldName && !strings.HasPrefix(n, oldName+"/") {
			continue
		}
		to := newName + n[len(oldName):]
		_, from, err := s.resolve(n)
		if err != nil {
			continue
		}
		_, toDir, err := s.resolve(to)
		if err != nil {
			return err
		}
		if isDir(toDir) {
			return fmt.Errorf("maildir: %s: %w", to, store.ErrMailboxExists)
		}
		moves = append(moves, mv{from, toDir, n, to})
	}
	if len(moves) == 0 {
		return fmt.Errorf("maildir: %s: %w", oldName, store.ErrNoSuchMailbox)
	}
	special := s.specialUses()
	for _, m := range moves {
		if err := os.Rename(m.from, m.to); err != nil {
			return fmt.Errorf("maildir: rename %s: %w", m.fromName, err)
		}
		s.forget(m.from)
		if su := special[m.fromName]; su != "" {
			s.setSpecialUse(ctx, m.fromName, "")
			s.setSpecialUse(ctx, m.toName, su)
		}
	}
	s.syncDir(s.root)
	return nil
}

// renameInbox moves INBOX's messages into a new mailbox and leaves INBOX
// empty (RFC 9051 6.3.6). The messages keep their file names and flags and
// get UIDs in the new mailbox in their INBOX order.
func (s *Store) renameInbox(ctx context.Context, newName, newDir string) error {
	if err := s.CreateMailbox(ctx, newName, store.CreateOptions{}); err != nil {
		return err
	}
	src, err := s.box(store.Inbox)
	if err != nil {
		return err
	}
	dst, err := s.box(newName)
	if err != nil {
		return err
	}
	_, err = src.transfer(ctx, nil, dst, true, nil)
	return err
}

// forget drops the in-memory state of a folder that was deleted or
// renamed; its open handles see ChangeDeleted.
func (s *Store) forget(dir string) {
	s.mu.Lock()
	m := s.boxes[dir]
	delete(s.boxes, dir)
	s.mu.Unlock()
	if m != nil {
		m.markGone()
	}
}

// box returns the shared state of a mailbox, which must exist.
func (s *Store) box(name string) (*mbox, error) {
	name, dir, err := s.resolve(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.boxes[dir]; m != nil && !m.isGone() {
		return m, nil
	}
	if !isDir(dir) {
		return nil, fmt.Errorf("maildir: %s: %w", name, store.ErrNoSuchMailbox)
	}
	m := newMbox(s, name, dir)
	s.boxes[dir] = m
	return m, nil
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	m, err := s.box(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(ctx, false); err != nil {
		return store.MailboxStatus{}, err
	}
	return m.statusLocked(), nil
}

// OpenMailbox implements store.Store.
func (s *Store) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	m, err := s.box(name)
	if err != nil {
		return nil, err
	}
	return m.open(ctx, opts.ReadOnly, opts.KeepRecent)
}
