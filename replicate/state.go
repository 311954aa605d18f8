package replicate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// State is one side's record of a user's last completed sync with one
// partner: what was on both sides then. Both sides keep their own copy,
// written with the same generation number at the end of each sync; the
// previous generation is kept too, so that a crash between the two
// writes still leaves a generation both sides hold.
type State struct {
	Gen           uint64                   `json:"gen"`
	Subscriptions []string                 `json:"subscriptions,omitempty"`
	Mailboxes     map[string]*MailboxState `json:"mailboxes,omitempty"`
	Sieve         *SieveBase               `json:"sieve,omitempty"`
}

// MailboxState is a mailbox of the State: this side's UIDVALIDITY then
// and its messages by GUID.
type MailboxState struct {
	UIDValidity uint32             `json:"uidvalidity"`
	SpecialUse  string             `json:"special_use,omitempty"`
	Msgs        map[string]BaseMsg `json:"msgs,omitempty"`
	// File names the snapshot of Msgs under the StateStore's box
	// directory ("" in a State not saved yet, or an older one whose
	// Msgs are inline), FileSize its length; Journal names the file of
	// changes made since, of which the first JournalLen bytes belong to
	// this State.
	File       string `json:"file,omitempty"`
	FileSize   int64  `json:"file_size,omitempty"`
	Journal    string `json:"journal,omitempty"`
	JournalLen int64  `json:"journal_len,omitempty"`

	full  bool         // Msgs replaced: Save writes a new snapshot
	delta []journalRec // changes since loaded, for the journal
}

// journalRec is one line of a mailbox's journal: GUIDs removed from
// Msgs, then entries put.
type journalRec struct {
	Del []string           `json:"d,omitempty"`
	Put map[string]BaseMsg `json:"p,omitempty"`
}

func (r journalRec) apply(m map[string]BaseMsg) {
	for _, g := range r.Del {
		delete(m, g)
	}
	for g, b := range r.Put {
		m[g] = b
	}
}

// StateStore keeps States on disk: one directory per partner and user
// under Dir, with headers "state" and "state.prev" (JSON: generation,
// subscriptions, Sieve scripts, mailboxes) and under box/ a snapshot of
// each mailbox's messages with a journal of the changes made since
// (see Save).
type StateStore struct {
	Dir string
	// NoSync skips the fsyncs (tests only).
	NoSync bool
}

func (s *StateStore) dir(partner, user string) (string, error) {
	if partner == "" || user == "" {
		return "", errors.New("replicate: empty partner or user name")
	}
	return filepath.Join(s.Dir, escapeName(partner), escapeName(user)), nil
}

// escapeName makes a user or partner name one safe path element.
func escapeName(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '@' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// Load returns the current and previous States (nil when missing or
// unreadable: a damaged state only costs a sync without base).
func (s *StateStore) Load(partner, user string) (cur, prev *State) {
	d, err := s.dir(partner, user)
	if err != nil {
		return nil, nil
	}
	return s.readState(d, "state"), s.readState(d, "state.prev")
}

// LoadGen returns the State of generation gen (the current or the
// previous one), nil when neither is.
func (s *StateStore) LoadGen(partner, user string, gen uint64) *State {
	d, err := s.dir(partner, user)
	if err != nil {
		return nil
	}
	for _, f := range []string{"state", "state.prev"} {
		if h := readHeader(filepath.Join(d, f)); h != nil && h.Gen == gen {
			return s.readState(d, f)
		}
	}
	return nil
}

// Gens returns the generations of the current and previous States
// without reading their mailboxes.
func (s *StateStore) Gens(partner, user string) []uint64 {
	d, err := s.dir(partner, user)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, f := range []string{"state", "state.prev"} {
		if h := readHeader(filepath.Join(d, f)); h != nil {
			out = append(out, h.Gen)
		}
	}
	return out
}

func readHeader(path string) *State {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st State
	if json.Unmarshal(data, &st) != nil || st.Gen == 0 {
		return nil
	}
	return &st
}

// readState reads a header and its mailboxes' files. A mailbox whose
// file is missing or damaged is left out (it merges without a base,
// which deletes nothing).
func (s *StateStore) readState(d, name string) *State {
	st := readHeader(filepath.Join(d, name))
	if st == nil {
		return nil
	}
	for n, mb := range st.Mailboxes {
		if mb == nil {
			delete(st.Mailboxes, n)
			continue
		}
		if mb.File == "" {
			continue // an older state, messages inline
		}
		if !validBoxFile(mb.File) || mb.Journal != "" && !validBoxFile(mb.Journal) || readBox(filepath.Join(d, boxDir), mb) != nil {
			delete(st.Mailboxes, n)
		}
	}
	return st
}

// readBox reads a mailbox's snapshot and replays its journal.
func readBox(dir string, mb *MailboxState) error {
	data, err := os.ReadFile(filepath.Join(dir, mb.File))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &mb.Msgs); err != nil {
		return err
	}
	if mb.Msgs == nil {
		mb.Msgs = map[string]BaseMsg{}
	}
	if mb.Journal == "" {
		return nil
	}
	j, err := os.ReadFile(filepath.Join(dir, mb.Journal))
	if err != nil {
		return err
	}
	if int64(len(j)) < mb.JournalLen {
		return errors.New("replicate: state journal cut short")
	}
	for _, line := range bytes.Split(j[:mb.JournalLen], []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		var r journalRec
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		r.apply(mb.Msgs)
	}
	return nil
}

// boxDir holds one file per mailbox of the States, written only when the
// mailbox's state changed; the headers ("state", "state.prev") name them.
const boxDir = "box"

func validBoxFile(f string) bool {
	return f != "" && !strings.ContainsAny(f, "/\\") && f[0] != '.'
}

// Save makes st the current State, the current one the previous. Of a
// mailbox's messages only what changed since the State it was loaded
// from is written, appended to the mailbox's journal (saveBox): a sync
// that changed one message writes a line and the small header, not the
// whole user. Files neither header names are removed.
//
// Order, for crash safety: mailbox files (temporary file, fsync,
// rename), their directory fsynced; the current header copied over the
// previous one, then the new header over the current one (each a
// temporary file, fsynced, renamed); the directory fsynced. Whatever
// the point of a crash, there is a current header, and each header on
// disk names files that are complete.
func (s *StateStore) Save(partner, user string, st *State) error {
	d, err := s.dir(partner, user)
	if err != nil {
		return err
	}
	bd := filepath.Join(d, boxDir)
	if err := os.MkdirAll(bd, 0o700); err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	hdr := &State{Gen: st.Gen, Subscriptions: st.Subscriptions, Sieve: st.Sieve, Mailboxes: make(map[string]*MailboxState, len(st.Mailboxes))}
	wrote := false
	for name, mb := range st.Mailboxes {
		w, err := s.saveBox(bd, st.Gen, name, mb)
		if err != nil {
			mb.full, mb.delta = true, nil // the next save writes it whole
			return fmt.Errorf("replicate: state: %w", err)
		}
		wrote = wrote || w
		hdr.Mailboxes[name] = &MailboxState{UIDValidity: mb.UIDValidity, SpecialUse: mb.SpecialUse,
			File: mb.File, FileSize: mb.FileSize, Journal: mb.Journal, JournalLen: mb.JournalLen}
	}
	if wrote {
		if err := s.syncDir(bd); err != nil {
			return fmt.Errorf("replicate: state: %w", err)
		}
	}
	data, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	// The current header is copied to the previous one, then the new
	// one replaces it: "state" is there at every moment.
	cur := filepath.Join(d, "state")
	if old, err := os.ReadFile(cur); err == nil {
		if err := s.writeFile(filepath.Join(d, "state.prev"), old); err != nil {
			return fmt.Errorf("replicate: state: %w", err)
		}
	}
	if err := s.writeFile(cur, data); err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	if err := s.syncDir(d); err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	s.removeUnused(d, hdr)
	return nil
}

// saveBox writes what changed of a mailbox's messages: nothing when
// nothing did; the changes appended to its journal when the journal
// ends where this State's part of it ends (no other State wrote past
// it) and stays under half the snapshot (64 KiB at least); else a new
// snapshot. It reports whether it wrote a file.
func (s *StateStore) saveBox(bd string, gen uint64, name string, mb *MailboxState) (bool, error) {
	if mb.File != "" && !mb.full && len(mb.delta) == 0 {
		return false, nil
	}
	if mb.File != "" && !mb.full {
		var add []byte
		for _, r := range mb.delta {
			b, err := json.Marshal(r)
			if err != nil {
				return false, err
			}
			add = append(append(add, b...), '\n')
		}
		j := mb.Journal
		if j == "" {
			j = fmt.Sprintf("%d-%s.j", gen, escapeName(name))
		}
		jp := filepath.Join(bd, j)
		size := int64(0)
		if fi, err := os.Stat(jp); err == nil {
			size = fi.Size()
		}
		if (mb.Journal == "" && size == 0 || mb.Journal != "" && size == mb.JournalLen) &&
			mb.JournalLen+int64(len(add)) <= max(mb.FileSize/2, 64<<10) {
			if err := s.appendFile(jp, add); err != nil {
				return false, err
			}
			mb.Journal, mb.JournalLen, mb.delta = j, mb.JournalLen+int64(len(add)), nil
			return true, nil
		}
	}
	f := fmt.Sprintf("%d-%s", gen, escapeName(name))
	data, err := json.Marshal(mb.Msgs)
	if err != nil {
		return false, err
	}
	if err := s.writeFile(filepath.Join(bd, f), data); err != nil {
		return false, err
	}
	mb.File, mb.FileSize, mb.Journal, mb.JournalLen = f, int64(len(data)), "", 0
	mb.full, mb.delta = false, nil
	return true, nil
}

// appendFile appends data to path (created if missing) and fsyncs it.
func (s *StateStore) appendFile(path string, data []byte) error {
	return s.writeSynced(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, data)
}

// writeSynced opens path with flag, writes data and fsyncs it.
func (s *StateStore) writeSynced(path string, flag int, data []byte) error {
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !s.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeUnused deletes the mailbox files neither cur nor the previous
// header names (and temporary files a crash left).
func (s *StateStore) removeUnused(d string, cur *State) {
	keep := map[string]bool{}
	for _, h := range []*State{cur, readHeader(filepath.Join(d, "state.prev"))} {
		if h == nil {
			continue
		}
		for _, mb := range h.Mailboxes {
			if mb != nil {
				keep[mb.File] = true
				keep[mb.Journal] = true
			}
		}
	}
	ents, err := os.ReadDir(filepath.Join(d, boxDir))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			os.Remove(filepath.Join(d, boxDir, e.Name()))
		}
	}
}

// writeFile writes data to path through a temporary file, fsynced and
// renamed into place.
func (s *StateStore) writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := s.writeSynced(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, data); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (s *StateStore) syncDir(d string) error {
	if s.NoSync {
		return nil
	}
	df, err := os.Open(d)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.Sync()
}
