package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// maxDirName is the longest Maildir++ folder directory name: the whole
// hierarchy lives in one file name component.
const maxDirName = 255

// folderName returns the Maildir++ directory name (".A.B", modified
// UTF-7) of a canonical, validated non-INBOX mailbox name.
func folderName(name string) (string, error) {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		if strings.ContainsRune(l, '.') {
			// Maildir++ uses "." as the separator on disk; Dovecot refuses it too.
			return "", fmt.Errorf("%w: '.' not allowed in a Maildir++ name", store.ErrInvalidName)
		}
		levels[i] = mutf7.Encode(l)
	}
	dir := "." + strings.Join(levels, ".")
	if len(dir) > maxDirName {
		return "", fmt.Errorf("%w: name too long for Maildir++", store.ErrInvalidName)
	}
	return dir, nil
}

// mailboxName returns the mailbox name of a folder directory name
// (".A.B"), or false if it is not one.
func mailboxName(dir string) (string, bool) {
	if len(dir) < 2 || dir[0] != '.' || dir == ".." {
		return "", false
	}
	levels := strings.Split(dir[1:], ".")
	for i, l := range levels {
		if l == "" {
			return "", false
		}
		d, err := mutf7.Decode(l)
		if err != nil {
			return "", false
		}
		levels[i] = d
	}
	name := store.CanonicalName(strings.Join(levels, "/"))
	if store.ValidateName(name) != nil {
		return "", false
	}
	return name, true
}

// resolve validates a mailbox name and returns its canonical form and
// directory.
func (s *Store) resolve(name string) (string, string, error) {
	name = store.CanonicalName(name)
	if err := store.ValidateName(name); err != nil {
		return "", "", err
	}
	if name == store.Inbox {
		return name, s.root, nil
	}
	d, err := folderName(name)
	if err != nil {
		return "", "", err
	}
	return name, filepath.Join(s.root, d), nil
}

// folders lists the mailbox names that exist as directories (INBOX
// excluded).
func (s *Store) folders() ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' {
			continue
		}
		if !e.IsDir() {
			if e.Type()&os.ModeSymlink == 0 {
				continue
			}
			if fi, err := os.Stat(filepath.Join(s.root, n)); err != nil || !fi.IsDir() {
				continue
			}
		}
		if name, ok := mailboxName(n); ok && name != store.Inbox {
			out = append(out, name)
		}
	}
	return out, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
