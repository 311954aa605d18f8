package mbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// childrenSuffix names the directory holding the children of a mailbox
// that is itself a selectable file ("Projects" file, "Projects.children/A"):
// plain mbox cannot have a file and a directory of the same name. A
// mailbox with no messages of its own (\Noselect) is a plain directory,
// as Dovecot lays it out.
const childrenSuffix = ".children"

// validName checks a canonical name for this format: store.ValidateName,
// plus no level starting with "." (the index directory .imap, temporary
// files) or ending in ".lock" or childrenSuffix.
func (s *Store) validName(name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	for _, l := range strings.Split(name, "/") {
		if strings.HasPrefix(l, ".") || strings.HasSuffix(l, ".lock") || strings.HasSuffix(l, childrenSuffix) {
			return fmt.Errorf("%w: level %q not allowed in mbox", store.ErrInvalidName, l)
		}
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// childDir is where the children of the mailbox (or \Noselect parent) at
// path live.
func (s *Store) childDir(name, path string) string {
	if name == store.Inbox {
		p := filepath.Join(s.root, "INBOX")
		if p == s.inbox {
			p += childrenSuffix
		}
		return p
	}
	if isFile(path) {
		return path + childrenSuffix
	}
	return path
}

// mailboxPath is the file of a canonical, valid name.
func (s *Store) mailboxPath(name string) (string, error) {
	if name == store.Inbox {
		return s.inbox, nil
	}
	levels := strings.Split(name, "/")
	dir := s.root
	for i, l := range levels {
		p := filepath.Join(dir, mutf7.Encode(l))
		if i == len(levels)-1 {
			if name == store.Inbox || (dir == s.root && filepath.Clean(p) == s.inbox) {
				return "", fmt.Errorf("%w: %q is the INBOX file", store.ErrInvalidName, name)
			}
			return p, nil
		}
		dir = s.childDir(strings.Join(levels[:i+1], "/"), p)
	}
	return "", store.ErrInvalidName
}

// ListMailboxes implements store.Store.
func (s *Store) ListMailboxes(ctx context.Context) ([]store.MailboxInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]*store.MailboxInfo{store.Inbox: {Name: store.Inbox}}
	s.walk(s.root, "", found, 0)
	if isDir(filepath.Join(s.root, "INBOX")) {
		found[store.Inbox].HasChildren = true
	}
	subs, _ := s.subscriptions()
	special := s.specialUses()
	out := make([]store.MailboxInfo, 0, len(found))
	for name, mi := range found {
		for _, sub := range subs {
			if sub == name {
				mi.Subscribed = true
			}
		}
		if !mi.NoSelect {
			mi.SpecialUse = special[name]
		}
		out = append(out, *mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// walk lists dir's mailboxes into found, names under prefix.
func (s *Store) walk(dir, prefix string, found map[string]*store.MailboxInfo, depth int) {
	if depth > 64 {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		fn := e.Name()
		if strings.HasPrefix(fn, ".") || strings.HasSuffix(fn, ".lock") || strings.Contains(fn, ".lock.") {
			continue
		}
		p := filepath.Join(dir, fn)
		base := strings.TrimSuffix(fn, childrenSuffix)
		level, err := mutf7.Decode(base)
		if err != nil || level == "" {
			continue
		}
		name := store.CanonicalName(prefix + level)
		if prefix == "" && name == store.Inbox {
			if e.IsDir() {
				s.walk(p, "INBOX/", found, depth+1)
			}
			continue
		}
		if p == s.inbox {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		mi := found[name]
		if mi == nil {
			mi = &store.MailboxInfo{Name: name, NoSelect: true}
			found[name] = mi
		}
		if fi.Mode().IsRegular() && base == fn {
			mi.NoSelect = false
			continue
		}
		if fi.IsDir() {
			s.walk(p, name+"/", found, depth+1)
			for child := range found {
				if strings.HasPrefix(child, name+"/") {
					mi.HasChildren = true
					break
				}
			}
		}
	}
}

// CreateMailbox implements store.Store.
func (s *Store) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	name = store.CanonicalName(name)
	if err := s.validName(name); err != nil {
		return err
	}
	if name == store.Inbox {
		return fmt.Errorf("mbox: %w", store.ErrMailboxExists)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path, err := s.mkParents(name)
	if err != nil {
		return err
	}
	if isFile(path) {
		return fmt.Errorf("mbox: %q: %w", name, store.ErrMailboxExists)
	}
	if isDir(path) {
		// A \Noselect parent becomes selectable: its children move
		// beside the new file.
		if err := os.Rename(path, path+childrenSuffix); err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("mbox: %q: %w", name, store.ErrMailboxExists)
		}
		return fmt.Errorf("mbox: %w", err)
	}
	f.Close()
	os.RemoveAll(s.indexDir(name) + "/" + stateFile)
	st := boxState{UIDValidity: s.newUIDValidity(), NextUID: 1}
	if err := s.writeState(name, st); err != nil {
		return err
	}
	// Every message of the new mailbox gets a GUID with its digest.
	if err := s.writeGUIDScheme(name, legacyGUIDs{st.UIDValidity, 1}); err != nil {
		return err
	}
	if opts.SpecialUse != "" {
		s.setSpecialUseLocked(name, opts.SpecialUse)
	}
	return s.syncDir(filepath.Dir(path))
}

// mkParents creates the parent directories of name and returns its path.
func (s *Store) mkParents(name string) (string, error) {
	levels := strings.Split(name, "/")
	dir := s.root
	for i, l := range levels[:len(levels)-1] {
		pname := strings.Join(levels[:i+1], "/")
		p := s.childDir(pname, filepath.Join(dir, mutf7.Encode(l)))
		if err := os.MkdirAll(p, 0o700); err != nil {
			return "", fmt.Errorf("mbox: %w", err)
		}
		dir = p
	}
	return s.mailboxPath(name)
}

// DeleteMailbox implements store.Store.
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	name = store.CanonicalName(name)
	if err := s.validName(name); err != nil {
		return err
	}
	if name == store.Inbox {
		return fmt.Errorf("mbox: %w", store.ErrNotAllowed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path, err := s.mailboxPath(name)
	if err != nil {
		return err
	}
	switch {
	case isFile(path):
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
		if isDir(path + childrenSuffix) {
			os.Rename(path+childrenSuffix, path)
		}
		os.Remove(filepath.Join(s.indexDir(name), stateFile))
		os.Remove(s.guidSchemePath(name))
		ents, _ := os.ReadDir(s.indexDir(name))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), replicaGUIDPrefix) {
				os.Remove(filepath.Join(s.indexDir(name), e.Name()))
			}
		}
		for _, f := range []string{"dovecot.index", "dovecot.index.log", "dovecot.index.cache", "dovecot.index.log.2"} {
			os.Remove(filepath.Join(s.indexDir(name), f))
		}
	case isDir(path):
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("mbox: %q has children: %w", name, store.ErrNotAllowed)
		}
	default:
		return fmt.Errorf("mbox: %q: %w", name, store.ErrNoSuchMailbox)
	}
	s.forgetLocked(name)
	s.setSpecialUseLocked(name, "")
	return s.syncDir(filepath.Dir(path))
}

// forgetLocked marks the boxes of name and its children gone.
func (s *Store) forgetLocked(name string) {
	for n, b := range s.boxes {
		if n == name || strings.HasPrefix(n, name+"/") {
			b.markGone()
			delete(s.boxes, n)
		}
	}
}

// RenameMailbox implements store.Store.
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	oldName, newName = store.CanonicalName(oldName), store.CanonicalName(newName)
	if err := s.validName(oldName); err != nil {
		return err
	}
	if err := s.validName(newName); err != nil {
		return err
	}
	if newName == store.Inbox || strings.HasPrefix(newName, oldName+"/") {
		return fmt.Errorf("mbox: %w", store.ErrNotAllowed)
	}
	if oldName == store.Inbox {
		return s.renameInbox(ctx, newName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oldPath, err := s.mailboxPath(oldName)
	if err != nil {
		return err
	}
	oldFile, oldDir := isFile(oldPath), isDir(oldPath)
	if !oldFile && !oldDir {
		return fmt.Errorf("mbox: %q: %w", oldName, store.ErrNoSuchMailbox)
	}
	if p, err := s.mailboxPath(newName); err != nil {
		return err
	} else if isFile(p) || isDir(p) {
		return fmt.Errorf("mbox: %q: %w", newName, store.ErrMailboxExists)
	}
	newPath, err := s.mkParents(newName)
	if err != nil {
		return err
	}
	if err := os.Rename(oldPath, newPath); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	if oldFile && isDir(oldPath+childrenSuffix) {
		if err := os.Rename(oldPath+childrenSuffix, newPath+childrenSuffix); err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
	}
	if isDir(s.indexDir(oldName)) {
		os.MkdirAll(filepath.Dir(s.indexDir(newName)), 0o700)
		os.Rename(s.indexDir(oldName), s.indexDir(newName))
	}
	s.renameSpecialUseLocked(oldName, newName)
	s.forgetLocked(oldName)
	return s.syncDir(filepath.Dir(newPath))
}

// renameInbox moves INBOX's messages to a new mailbox and leaves INBOX
// empty (RFC 9051 6.3.6): the spool file stays in place (its owner and
// mode belong to the delivery agent); its content is copied out and it
// is truncated under the mailbox's write lock.
func (s *Store) renameInbox(ctx context.Context, newName string) error {
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
	h, err := src.open(ctx, false)
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.Move(ctx, nil, newName); err != nil {
		return err
	}
	_ = dst
	return nil
}
