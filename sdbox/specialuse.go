package sdbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// Dovecot keeps special-use attributes in its configuration, not in the
// sdbox tree. yubin reports those of Options.AutoMailboxes and remembers the
// ones given to CreateMailbox in "yubin-special-use" in the root (lines
// "<attr> TAB <name>"); Dovecot ignores the file.

const specialUseFile = "yubin-special-use"

func (s *Store) specialUses() map[string]string {
	out := map[string]string{}
	data, _ := os.ReadFile(filepath.Join(s.root, specialUseFile))
	for _, line := range strings.Split(string(data), "\n") {
		attr, name, ok := strings.Cut(line, "\t")
		if ok && store.IsSpecialUse(attr) {
			out[name] = attr
		}
	}
	for _, a := range s.opts.AutoMailboxes {
		if a.SpecialUse != "" {
			out[store.CanonicalName(a.Name)] = a.SpecialUse
		}
	}
	return out
}

// setSpecialUse records (or, with attr "", forgets) name's attribute.
func (s *Store) setSpecialUse(ctx context.Context, name, attr string) error {
	path := filepath.Join(s.root, specialUseFile)
	l, err := s.lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer l.unlock()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err != nil && attr == "" {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if a, n, ok := strings.Cut(line, "\t"); ok && store.IsSpecialUse(a) {
			m[n] = a
		}
	}
	if attr == "" {
		delete(m, name)
	} else {
		m[name] = attr
	}
	var lines []string
	for n, a := range m {
		lines = append(lines, a+"\t"+n+"\n")
	}
	sort.Strings(lines)
	return s.writeFileAtomic(path, []byte(strings.Join(lines, "")), false)
}

// createAuto creates and subscribes the configured auto mailboxes.
func (s *Store) createAuto() error {
	ctx := context.Background()
	for _, a := range s.opts.AutoMailboxes {
		if a.Auto == store.AutoNo {
			continue
		}
		name, dir, err := s.resolve(a.Name)
		if err != nil {
			return err
		}
		if name != store.Inbox && !isDir(mailDir(dir)) {
			if err := s.CreateMailbox(ctx, name, store.CreateOptions{}); err != nil && !errors.Is(err, store.ErrMailboxExists) {
				return err
			}
			if a.Auto == store.AutoSubscribe {
				if err := s.Subscribe(ctx, name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
