package sdbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// mailDirName is the directory inside a mailbox's directory that makes
// it selectable and holds its files.
const mailDirName = "dbox-Mails"

// resolve validates a mailbox name and returns its canonical form and
// the mailbox's directory (root/mailboxes/<levels in modified UTF-7>).
func (s *Store) resolve(name string) (string, string, error) {
	name = store.CanonicalName(name)
	if err := store.ValidateName(name); err != nil {
		return "", "", err
	}
	levels := strings.Split(name, "/")
	for i, l := range levels {
		if l == mailDirName || strings.HasPrefix(l, "~") {
			return "", "", fmt.Errorf("%w: %q not allowed as a level", store.ErrInvalidName, l)
		}
		levels[i] = mutf7.Encode(l)
		if len(levels[i]) > store.MaxNameLevel {
			return "", "", fmt.Errorf("%w: level too long in modified UTF-7", store.ErrInvalidName)
		}
	}
	return name, filepath.Join(append([]string{s.root, "mailboxes"}, levels...)...), nil
}

// mailDir returns the dbox-Mails directory of a mailbox directory.
func mailDir(boxDir string) string { return filepath.Join(boxDir, mailDirName) }

// walkMailboxes calls fn for each directory below root/mailboxes with
// its mailbox name, whether it is selectable and whether it has
// children.
func (s *Store) walkMailboxes(fn func(name string, selectable, children bool)) error {
	var walk func(dir string, levels []string) error
	walk = func(dir string, levels []string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() || e.Name() == mailDirName || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			d, err := mutf7.Decode(e.Name())
			if err != nil {
				continue
			}
			sub := filepath.Join(dir, e.Name())
			lv := append(append([]string(nil), levels...), d)
			name := store.CanonicalName(strings.Join(lv, "/"))
			if store.ValidateName(name) != nil {
				continue
			}
			selectable := isDir(mailDir(sub))
			children := hasChildDirs(sub)
			fn(name, selectable, children)
			if children {
				if err := walk(sub, lv); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(filepath.Join(s.root, "mailboxes"), nil)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func hasChildDirs(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != mailDirName && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}
