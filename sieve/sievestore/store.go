package sievestore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// DefaultMaxScriptSize is Pigeonhole's sieve_max_script_size default.
const DefaultMaxScriptSize = 1 << 20

// Suffix is the file name extension of a script in the storage.
const Suffix = ".sieve"

// Store is one user's Sieve script storage. Fields must not change once
// the Store is in use; its methods are safe for concurrent use.
type Store struct {
	// Dir is the sieve_storage directory ("~/sieve", expanded). It is
	// created (mode 0700, with tmp/) on the first write.
	Dir string
	// Active is the path of the active-script symlink
	// ("~/.dovecot.sieve", expanded). Empty means Dir's parent's
	// ".dovecot.sieve".
	Active string
	// MaxScripts is sieve_quota_max_scripts; 0 means no limit.
	MaxScripts int
	// MaxStorage is sieve_quota_max_storage in bytes; 0 means no limit.
	MaxStorage int64
	// MaxScriptSize is sieve_max_script_size; 0 means
	// DefaultMaxScriptSize, negative no limit.
	MaxScriptSize int64
	// UID and GID, when both are positive, own what the Store creates
	// (a server running as root writing a user's home). Zero leaves the
	// process's own.
	UID, GID int
}

// Script is one stored script as List returns it.
type Script struct {
	Name   string
	Size   int64
	Active bool
}

func (s *Store) activePath() string {
	if s.Active != "" {
		return s.Active
	}
	return filepath.Join(filepath.Dir(filepath.Clean(s.Dir)), ".dovecot.sieve")
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name+Suffix) }

func (s *Store) maxScriptSize() int64 {
	if s.MaxScriptSize == 0 {
		return DefaultMaxScriptSize
	}
	return s.MaxScriptSize
}

// List returns the scripts sorted by name, the active one marked.
func (s *Store) List(ctx context.Context) ([]Script, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	active, err := s.ActiveName(ctx)
	if err != nil {
		return nil, err
	}
	var out []Script
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), Suffix)
		if !ok || !ValidName(name) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Script{Name: name, Size: fi.Size(), Active: name == active})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ActiveName returns the name of the active script, "" when there is
// none: no link, a link that does not point at a script file of Dir (a
// regular file in its place, as a user may have put there, counts as
// none), or one whose script is gone.
func (s *Store) ActiveName(ctx context.Context) (string, error) {
	link := s.activePath()
	target, err := os.Readlink(link)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EINVAL) {
			return "", nil // no link, or not a link
		}
		return "", err
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(link), target)
	}
	dir, file := filepath.Split(filepath.Clean(target))
	name, ok := strings.CutSuffix(file, Suffix)
	if !ok || !ValidName(name) || !sameDir(filepath.Clean(dir), filepath.Clean(s.Dir)) {
		return "", nil
	}
	if fi, err := os.Stat(s.path(name)); err != nil || !fi.Mode().IsRegular() {
		return "", nil
	}
	return name, nil
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// Get returns a script's text.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if !ValidName(name) {
		return nil, ErrInvalidName
	}
	f, err := os.OpenFile(s.path(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, ErrNotFound
	}
	// A regular file: io.ReadAll ends at its end. A script larger than
	// the limit is still returned whole, since it is the user's own.
	return io.ReadAll(f)
}

// Exists reports whether a script of that name is stored.
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	if !ValidName(name) {
		return false, ErrInvalidName
	}
	fi, err := os.Stat(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular(), nil
}

// HaveSpace reports, as a *QuotaError, whether a script of size bytes
// stored under name would exceed a limit: ManageSieve's HAVESPACE and
// the check before PUTSCRIPT. Replacing a script frees its old size and
// does not add to the count.
func (s *Store) HaveSpace(ctx context.Context, name string, size int64) error {
	if !ValidName(name) {
		return ErrInvalidName
	}
	if max := s.maxScriptSize(); max > 0 && size > max {
		return &QuotaError{Kind: QuotaMaxSize, Limit: max}
	}
	if s.MaxScripts <= 0 && s.MaxStorage <= 0 {
		return nil
	}
	list, err := s.List(ctx)
	if err != nil {
		return err
	}
	count, total, replacing := 0, int64(0), false
	for _, sc := range list {
		if sc.Name == name {
			replacing = true
			continue
		}
		count++
		total += sc.Size
	}
	if s.MaxStorage > 0 && size > s.MaxStorage {
		return &QuotaError{Kind: QuotaMaxStorage, Limit: s.MaxStorage}
	}
	if s.MaxScripts > 0 && !replacing && count+1 > s.MaxScripts {
		return &QuotaError{Kind: QuotaMaxScripts, Limit: int64(s.MaxScripts)}
	}
	if s.MaxStorage > 0 && total+size > s.MaxStorage {
		return &QuotaError{Kind: QuotaMaxStorage, Limit: s.MaxStorage}
	}
	return nil
}

// Create makes Dir and Dir/tmp if they are missing, as Pigeonhole does
// when a user's storage is first opened (a ManageSieve login).
func (s *Store) Create() error { return s.ensureDirs() }

// Put stores script under name, replacing a script of that name
// atomically (the active one stays active), after checking the quotas.
func (s *Store) Put(ctx context.Context, name string, script []byte) error {
	if err := s.HaveSpace(ctx, name, int64(len(script))); err != nil {
		return err
	}
	if err := s.ensureDirs(); err != nil {
		return err
	}
	return s.writeAtomic(name, script)
}

// Delete removes a script; the active script cannot be deleted
// (ErrActive), as RFC 5804 section 2.10 requires.
func (s *Store) Delete(ctx context.Context, name string) error {
	if !ValidName(name) {
		return ErrInvalidName
	}
	if ok, err := s.Exists(ctx, name); err != nil {
		return err
	} else if !ok {
		return ErrNotFound
	}
	active, err := s.ActiveName(ctx)
	if err != nil {
		return err
	}
	if active == name {
		return ErrActive
	}
	if err := os.Remove(s.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return err
	}
	return syncDir(s.Dir)
}

// Rename gives a script a new name (ErrExists when it is taken); an
// active script stays active under the new name.
func (s *Store) Rename(ctx context.Context, oldName, newName string) error {
	if !ValidName(oldName) || !ValidName(newName) {
		return ErrInvalidName
	}
	if ok, err := s.Exists(ctx, oldName); err != nil {
		return err
	} else if !ok {
		return ErrNotFound
	}
	if oldName == newName {
		return ErrExists // as Pigeonhole answers
	}
	active, err := s.ActiveName(ctx)
	if err != nil {
		return err
	}
	if err := os.Link(s.path(oldName), s.path(newName)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		return err
	}
	if active == oldName {
		if err := s.link(newName); err != nil {
			os.Remove(s.path(newName))
			return err
		}
	}
	if err := os.Remove(s.path(oldName)); err != nil {
		return err
	}
	return syncDir(s.Dir)
}

// SetActive makes name the active script; "" deactivates (removes the
// link). A regular file where the link belongs (a script the user put
// there by hand) is kept as the script "dovecot.orig" first, unless
// that name is taken, when it is an error.
func (s *Store) SetActive(ctx context.Context, name string) error {
	if name == "" {
		err := s.removeActive()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if !ValidName(name) {
		return ErrInvalidName
	}
	if ok, err := s.Exists(ctx, name); err != nil {
		return err
	} else if !ok {
		return ErrNotFound
	}
	return s.link(name)
}
