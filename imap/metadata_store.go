package imap

import (
	"context"
	"strings"
	"sync"
)

// Metadata keeps the METADATA entries (RFC 5464) of users: per mailbox,
// and for the server (mailbox ""). Entry names come lower-cased
// ("/private/comment"). Setting Server.Metadata turns the METADATA
// capability on. Implementations must be safe for concurrent use.
type Metadata interface {
	// GetMetadata returns every entry of the user's mailbox ("" for the
	// server's).
	GetMetadata(ctx context.Context, user, mailbox string) (map[string]string, error)
	// SetMetadata applies set to the mailbox's entries at once: a nil
	// value deletes the entry.
	SetMetadata(ctx context.Context, user, mailbox string, set map[string]*string) error
	// RenameMetadata moves the entries of mailbox old and of the
	// mailboxes below it to the new name, as RENAME moves them.
	RenameMetadata(ctx context.Context, user, old, new string) error
	// DeleteMetadata drops the entries of a deleted mailbox.
	DeleteMetadata(ctx context.Context, user, mailbox string) error
}

// FileMetadata keeps each user's METADATA entries in one JSON file
// (Path(user)), rewritten atomically (temporary file, fsync, rename) on
// every change, as Dovecot's file dict keeps mail_attribute_dict.
type FileMetadata struct {
	// Path returns the file of a user's entries, e.g. a file in the
	// user's home.
	Path func(user string) string
	// Locate, when set, is used instead of Path: for stores that look
	// the user's directory up (a userdb). Its directory is created
	// (0700) on the first write if it is missing.
	Locate func(ctx context.Context, user string) (string, error)

	mu sync.Mutex
}

type metadataFile map[string]map[string]string // mailbox -> entry -> value

// path is the file of user's entries: Locate's answer, or Path's.
func (f *FileMetadata) path(ctx context.Context, user string) (string, error) {
	if f.Locate != nil {
		return f.Locate(ctx, user)
	}
	return f.Path(user), nil
}

func (f *FileMetadata) load(path string) (metadataFile, error) {
	m := metadataFile{}
	if err := loadJSONFile(path, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (f *FileMetadata) save(path string, m metadataFile) error {
	return saveJSONFile(path, m, f.Locate != nil)
}

// GetMetadata implements Metadata.
func (f *FileMetadata) GetMetadata(ctx context.Context, user, mailbox string) (map[string]string, error) {
	path, err := f.path(ctx, user)
	if err != nil {
		return nil, err
	}
	// The lookup (a userdb query) runs outside the lock.
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil {
		return nil, err
	}
	return m[mailbox], nil
}

// SetMetadata implements Metadata.
func (f *FileMetadata) SetMetadata(ctx context.Context, user, mailbox string, set map[string]*string) error {
	path, err := f.path(ctx, user)
	if err != nil {
		return err
	}
	// The lookup (a userdb query) runs outside the lock.
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil {
		return err
	}
	entries := m[mailbox]
	if entries == nil {
		entries = map[string]string{}
	}
	for k, v := range set {
		if v == nil {
			delete(entries, k)
		} else {
			entries[k] = *v
		}
	}
	if len(entries) == 0 {
		delete(m, mailbox)
	} else {
		m[mailbox] = entries
	}
	return f.save(path, m)
}

// RenameMetadata implements Metadata.
func (f *FileMetadata) RenameMetadata(ctx context.Context, user, old, new string) error {
	path, err := f.path(ctx, user)
	if err != nil {
		return err
	}
	// The lookup (a userdb query) runs outside the lock.
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil {
		return err
	}
	changed := false
	for name, entries := range m {
		if name == "" || (name != old && !strings.HasPrefix(name, old+"/")) {
			continue
		}
		delete(m, name)
		m[new+strings.TrimPrefix(name, old)] = entries
		changed = true
	}
	if !changed {
		return nil
	}
	return f.save(path, m)
}

// DeleteMetadata implements Metadata.
func (f *FileMetadata) DeleteMetadata(ctx context.Context, user, mailbox string) error {
	path, err := f.path(ctx, user)
	if err != nil {
		return err
	}
	// The lookup (a userdb query) runs outside the lock.
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load(path)
	if err != nil || m[mailbox] == nil {
		return err
	}
	delete(m, mailbox)
	return f.save(path, m)
}
