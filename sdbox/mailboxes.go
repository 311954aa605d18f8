package sdbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/store"
)

// ListMailboxes implements store.Store.
func (s *Store) ListMailboxes(ctx context.Context) ([]store.MailboxInfo, error) {
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[n] = true
	}
	special := s.specialUses()
	var out []store.MailboxInfo
	sawInbox := false
	err = s.walkMailboxes(func(name string, selectable, children bool) {
		if name == store.Inbox {
			sawInbox = true
		}
		out = append(out, store.MailboxInfo{Name: name, NoSelect: !selectable, HasChildren: children, SpecialUse: special[name], Subscribed: subscribed[name]})
	})
	if err != nil {
		return nil, fmt.Errorf("sdbox: list: %w", err)
	}
	if !sawInbox {
		out = append(out, store.MailboxInfo{Name: store.Inbox, Subscribed: subscribed[store.Inbox]})
	}
	return out, nil
}

// DeleteMailbox implements store.Store. A mailbox with children keeps
// its directory as a \Noselect parent; its messages and index go.
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	name, dir, err := s.resolve(name)
	if err != nil {
		return err
	}
	if name == store.Inbox {
		return fmt.Errorf("sdbox: delete INBOX: %w", store.ErrNotAllowed)
	}
	md := mailDir(dir)
	if !isDir(md) {
		if isDir(dir) && !hasChildDirs(dir) {
			// A \Noselect parent left without children.
			return os.Remove(dir)
		}
		return fmt.Errorf("sdbox: %q: %w", name, store.ErrNoSuchMailbox)
	}
	// Move dbox-Mails aside first, so that no one sees a half-deleted
	// mailbox, then remove it.
	trash := filepath.Join(filepath.Dir(dir), fmt.Sprintf(".deleted.%d.%d", os.Getpid(), s.seq.Add(1)))
	if err := os.Rename(md, trash); err != nil {
		return fmt.Errorf("sdbox: delete %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("sdbox: delete %q: %w", name, err)
	}
	if !hasChildDirs(dir) {
		os.Remove(dir)
	}
	s.setSpecialUse(ctx, name, "")
	return nil
}

// RenameMailbox implements store.Store. The directory moves with its
// children, index and UIDVALIDITY. Renaming INBOX moves its messages to
// the new name and leaves a new, empty INBOX.
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	oldName, oldDir, err := s.resolve(oldName)
	if err != nil {
		return err
	}
	newName, newDir, err := s.resolve(newName)
	if err != nil {
		return err
	}
	if newName == store.Inbox {
		return fmt.Errorf("sdbox: rename to INBOX: %w", store.ErrMailboxExists)
	}
	if !isDir(oldDir) {
		return fmt.Errorf("sdbox: %q: %w", oldName, store.ErrNoSuchMailbox)
	}
	if _, err := os.Lstat(newDir); err == nil {
		return fmt.Errorf("sdbox: %q: %w", newName, store.ErrMailboxExists)
	}
	if err := s.mkdirAll(filepath.Dir(newDir)); err != nil {
		return err
	}
	if oldName == store.Inbox {
		if err := s.mkdir(newDir); err != nil {
			return err
		}
		if err := os.Rename(mailDir(oldDir), mailDir(newDir)); err != nil {
			return fmt.Errorf("sdbox: rename INBOX: %w", err)
		}
		return s.ensureMailbox(store.Inbox)
	}
	if err := os.Rename(oldDir, newDir); err != nil {
		return fmt.Errorf("sdbox: rename %q: %w", oldName, err)
	}
	if attr := s.specialUses()[oldName]; attr != "" {
		s.setSpecialUse(ctx, oldName, "")
		s.setSpecialUse(ctx, newName, attr)
	}
	return nil
}

// mailDirOf resolves a selectable mailbox's dbox-Mails directory.
func (s *Store) mailDirOf(name string) (string, string, error) {
	name, dir, err := s.resolve(name)
	if err != nil {
		return "", "", err
	}
	md := mailDir(dir)
	if !isDir(md) {
		if name == store.Inbox {
			if err := s.ensureMailbox(store.Inbox); err != nil {
				return "", "", err
			}
			return name, md, nil
		}
		return "", "", fmt.Errorf("sdbox: %q: %w", name, store.ErrNoSuchMailbox)
	}
	return name, md, nil
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	name, md, err := s.mailDirOf(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	l, err := s.load(md)
	if err != nil {
		return store.MailboxStatus{}, fmt.Errorf("sdbox: status %q: %w", name, err)
	}
	return s.hubFor(md).statusOf(l.st), nil
}

// OpenMailbox implements store.Store.
func (s *Store) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	name, md, err := s.mailDirOf(name)
	if err != nil {
		return nil, err
	}
	mb, err := s.openHandle(name, md, opts.ReadOnly)
	if err == nil {
		mb.keepRecent = opts.KeepRecent
	}
	return mb, err
}

// Quota implements store.Store: the messages and their sizes (RFC822
// sizes, as Dovecot's count quota backend counts them) over every
// mailbox.
func (s *Store) Quota(ctx context.Context) (store.Quota, error) {
	q := store.Quota{StorageLimit: s.opts.QuotaStorage, MessagesLimit: s.opts.QuotaMessages}
	var names []string
	err := s.walkMailboxes(func(name string, selectable, _ bool) {
		if selectable {
			names = append(names, name)
		}
	})
	if err != nil {
		return q, fmt.Errorf("sdbox: quota: %w", err)
	}
	for _, n := range names {
		st, err := s.Status(ctx, n)
		if err != nil {
			if errors.Is(err, store.ErrNoSuchMailbox) {
				continue
			}
			return q, err
		}
		q.MessagesUsed += int64(st.Messages)
		q.StorageUsed += st.Size
	}
	return q, nil
}

// checkQuota fails with store.ErrQuotaExceeded when a message of size
// bytes would go over a configured limit.
func (s *Store) checkQuota(ctx context.Context, size int64) error {
	if s.opts.QuotaStorage <= 0 && s.opts.QuotaMessages <= 0 {
		return nil
	}
	q, err := s.Quota(ctx)
	if err != nil {
		return err
	}
	if q.Exceeds(size) {
		return fmt.Errorf("sdbox: %w", store.ErrQuotaExceeded)
	}
	return nil
}
