package replicate

import (
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
}

// StateStore keeps States on disk: one directory per partner and user
// under Dir, files "state" and "state.prev" (JSON), each written to a
// temporary file, fsynced, renamed into place and the directory
// fsynced before the write returns.
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
	return readState(filepath.Join(d, "state")), readState(filepath.Join(d, "state.prev"))
}

func readState(path string) *State {
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

// Save makes st the current State, the current one the previous.
func (s *StateStore) Save(partner, user string, st *State) error {
	d, err := s.dir(partner, user)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	cur := filepath.Join(d, "state")
	if _, err := os.Stat(cur); err == nil {
		if err := os.Rename(cur, filepath.Join(d, "state.prev")); err != nil {
			return fmt.Errorf("replicate: state: %w", err)
		}
	}
	tmp := cur + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && !s.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, cur)
	}
	if err == nil && !s.NoSync {
		var df *os.File
		if df, err = os.Open(d); err == nil {
			err = df.Sync()
			df.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("replicate: state: %w", err)
	}
	return nil
}
