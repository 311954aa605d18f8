package mbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// stateFile is yubin's per-mailbox state in the mailbox's index
// directory (~/mail/.imap/<name>/), next to Dovecot's own index files:
// the UIDVALIDITY and next UID of a mailbox whose file holds no
// X-IMAPbase (empty, or written by a delivery agent), and the
// HIGHESTMODSEQ, which the mbox file cannot hold.
const stateFile = "yubin-mbox-state"

// boxState is the content of stateFile: "V1 <uidvalidity> <nextuid> <modseq>".
type boxState struct {
	UIDValidity uint32
	NextUID     uint32
	ModSeq      uint64
}

func (s *Store) readState(name string) (boxState, bool) {
	data, err := os.ReadFile(filepath.Join(s.indexDir(name), stateFile))
	if err != nil {
		return boxState{}, false
	}
	f := strings.Fields(string(data))
	if len(f) != 4 || f[0] != "V1" {
		return boxState{}, false
	}
	uv, e1 := strconv.ParseUint(f[1], 10, 32)
	next, e2 := strconv.ParseUint(f[2], 10, 32)
	ms, e3 := strconv.ParseUint(f[3], 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || uv == 0 {
		return boxState{}, false
	}
	return boxState{uint32(uv), uint32(next), ms}, true
}

func (s *Store) writeState(name string, st boxState) error {
	return s.writeFileAtomic(filepath.Join(s.indexDir(name), stateFile),
		[]byte(fmt.Sprintf("V1 %d %d %d\n", st.UIDValidity, st.NextUID, st.ModSeq)))
}

// Special-use attributes are kept in .imap/yubin-special-use, one
// "name TAB attribute" per line (Dovecot takes them from its config).
func (s *Store) specialUsePath() string { return filepath.Join(s.indexRoot(), "yubin-special-use") }

func (s *Store) specialUses() map[string]string {
	out := map[string]string{}
	data, _ := os.ReadFile(s.specialUsePath())
	for _, l := range strings.Split(string(data), "\n") {
		if n, a, ok := strings.Cut(l, "\t"); ok && store.IsSpecialUse(a) {
			out[n] = a
		}
	}
	return out
}

func (s *Store) writeSpecialUses(m map[string]string) {
	var b strings.Builder
	for n, a := range m {
		b.WriteString(n + "\t" + a + "\n")
	}
	if err := s.writeFileAtomic(s.specialUsePath(), []byte(b.String())); err != nil {
		s.log.Warn("mbox: special-use file", "err", err)
	}
}

func (s *Store) setSpecialUse(name, attr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setSpecialUseLocked(name, attr)
}

func (s *Store) setSpecialUseLocked(name, attr string) {
	m := s.specialUses()
	if m[name] == attr || (attr == "" && m[name] == "") {
		return
	}
	if attr == "" {
		delete(m, name)
	} else {
		m[name] = attr
	}
	s.writeSpecialUses(m)
}

func (s *Store) renameSpecialUseLocked(oldName, newName string) {
	m := s.specialUses()
	changed := false
	for n, a := range m {
		if n == oldName || strings.HasPrefix(n, oldName+"/") {
			delete(m, n)
			m[newName+strings.TrimPrefix(n, oldName)] = a
			changed = true
		}
	}
	if changed {
		s.writeSpecialUses(m)
	}
}

// The subscriptions file is Dovecot's ~/mail/.subscriptions: one name
// per line with "/" between levels (version 1, which Dovecot reads and
// keeps for mbox).

func (s *Store) subsPath() string { return filepath.Join(s.root, ".subscriptions") }

func (s *Store) subscriptions() ([]string, error) {
	data, err := os.ReadFile(s.subsPath())
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "V\t") {
				continue
			}
		}
		if line == "" {
			continue
		}
		levels := strings.Split(strings.ReplaceAll(line, "\t", "/"), "/")
		ok := true
		for i, l := range levels {
			d, err := mutf7.Decode(l)
			if err != nil {
				ok = false
				break
			}
			levels[i] = d
		}
		name := store.CanonicalName(strings.Join(levels, "/"))
		if ok && store.ValidateName(name) == nil {
			out = append(out, name)
		}
	}
	return out, nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptions()
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(name, true)
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(name, false)
}

func (s *Store) editSubscriptions(name string, add bool) error {
	name = store.CanonicalName(name)
	if err := store.ValidateName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.subscriptions()
	if err != nil {
		return err
	}
	var out []string
	found := false
	for _, n := range names {
		if n == name {
			found = true
			if !add {
				continue
			}
		}
		out = append(out, n)
	}
	if add == found {
		return nil
	}
	if add {
		out = append(out, name)
	}
	var b strings.Builder
	for _, n := range out {
		levels := strings.Split(n, "/")
		for i, l := range levels {
			levels[i] = mutf7.Encode(l)
		}
		b.WriteString(strings.Join(levels, "/") + "\n")
	}
	return s.writeFileAtomic(s.subsPath(), []byte(b.String()))
}
