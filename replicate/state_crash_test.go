package replicate

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestStateCrashHelper is the child of TestStateKilledMidWrite: it saves
// States in a loop until killed.
func TestStateCrashHelper(t *testing.T) {
	dir := os.Getenv("YUBIN_STATE_CRASH_DIR")
	if dir == "" {
		t.Skip("child process of TestStateKilledMidWrite")
	}
	ss := &StateStore{Dir: dir}
	cur, _ := ss.Load("p", "u")
	gen := uint64(1)
	st := &State{Mailboxes: map[string]*MailboxState{}}
	if cur != nil {
		gen, st = cur.Gen+1, cur
	}
	for ; ; gen++ {
		st.Gen = gen
		for i := 0; i < 4; i++ {
			name := fmt.Sprintf("Box%d", i)
			if old := st.Mailboxes[name]; i == 3 && gen%3 != 0 && old != nil {
				// Changed in place: one entry, through the journal.
				b := BaseMsg{UID: uint32(gen)}
				old.Msgs["g0"] = b
				old.delta = append(old.delta, journalRec{Put: map[string]BaseMsg{"g0": b}})
				continue
			}
			mb := &MailboxState{UIDValidity: 7, Msgs: map[string]BaseMsg{}, full: true}
			for j := 0; j < 200; j++ {
				mb.Msgs[fmt.Sprintf("g%d", j)] = BaseMsg{UID: uint32(gen)}
			}
			st.Mailboxes[name] = mb
		}
		if err := ss.Save("p", "u", st); err != nil {
			t.Fatal(err)
		}
	}
}

// The state survives a kill -9 at any point of a write: the current
// and previous States load, each with all its mailboxes, every mailbox
// complete and of the generation its file names.
func TestStateKilledMidWrite(t *testing.T) {
	dir := t.TempDir()
	saved := false
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "YUBIN_STATE_CRASH_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+rand.IntN(250)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		ss := &StateStore{Dir: dir}
		cur, prev := ss.Load("p", "u")
		if cur == nil {
			if !saved {
				continue // killed before the first save finished
			}
			t.Fatalf("round %d: no current state after the kill", round)
		}
		for _, st := range []*State{cur, prev} {
			if st == nil {
				continue
			}
			if len(st.Mailboxes) != 4 {
				t.Fatalf("round %d gen %d: %d mailboxes, want 4", round, st.Gen, len(st.Mailboxes))
			}
			for name, mb := range st.Mailboxes {
				var fileGen uint64
				fmt.Sscanf(strings.SplitN(mb.File, "-", 2)[0], "%d", &fileGen)
				if len(mb.Msgs) != 200 {
					t.Fatalf("round %d gen %d %s: %d messages", round, st.Gen, name, len(mb.Msgs))
				}
				if name == "Box3" {
					// Rewritten whole every third generation, else
					// g0 changed through the journal (or a new
					// snapshot when the journal cannot be
					// appended to): the other entries all of one
					// generation, g0 of that one or later.
					whole := mb.Msgs["g1"].UID
					for g, b := range mb.Msgs {
						if g != "g0" && b.UID != whole || uint64(whole) > fileGen || fileGen > st.Gen {
							t.Fatalf("round %d gen %d %s: %s of gen %d, g1 of gen %d, file %s", round, st.Gen, name, g, b.UID, whole, mb.File)
						}
					}
					if g0 := mb.Msgs["g0"].UID; g0 < whole || uint64(g0) > st.Gen {
						t.Fatalf("round %d gen %d %s: g0 of gen %d (journal %s:%d)", round, st.Gen, name, g0, mb.Journal, mb.JournalLen)
					}
					continue
				}
				for _, b := range mb.Msgs {
					if uint64(b.UID) != fileGen || fileGen > st.Gen {
						t.Fatalf("round %d gen %d %s: entry of gen %d in file %s", round, st.Gen, name, b.UID, mb.File)
					}
				}
			}
		}
		saved = true
		t.Logf("round %d: killed at generation %d", round, cur.Gen)
	}
	// Unused files (a killed write's among them) are collected by the
	// next save: then only the files of two States are left (four
	// snapshots each, and a journal).
	ss := &StateStore{Dir: dir}
	cur, _ := ss.Load("p", "u")
	if cur == nil {
		t.Fatal("no state")
	}
	cur.Gen++
	if err := ss.Save("p", "u", cur); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "p", "u", boxDir))
	if len(ents) > 10 {
		t.Errorf("%d files in box/ after the rounds", len(ents))
	}
}

// A small change to a large mailbox is appended to its journal: the
// snapshot is not written again, and the State read back has the change.
func TestStateSmallChangeJournaled(t *testing.T) {
	ss := &StateStore{Dir: t.TempDir(), NoSync: true}
	mb := &MailboxState{UIDValidity: 1, Msgs: map[string]BaseMsg{}, full: true}
	for i := 0; i < 5000; i++ {
		mb.Msgs[fmt.Sprintf("guid-%d", i)] = BaseMsg{UID: uint32(i + 1)}
	}
	st := &State{Gen: 1, Mailboxes: map[string]*MailboxState{"INBOX": mb}}
	if err := ss.Save("p", "u", st); err != nil {
		t.Fatal(err)
	}
	snap := mb.File
	for gen := uint64(2); gen <= 4; gen++ {
		st.Gen = gen
		b := BaseMsg{UID: uint32(gen), Flags: store.Flags{System: store.Seen}}
		mb.Msgs["guid-7"] = b
		delete(mb.Msgs, fmt.Sprintf("guid-%d", gen*10))
		mb.delta = append(mb.delta, journalRec{Del: []string{fmt.Sprintf("guid-%d", gen*10)}, Put: map[string]BaseMsg{"guid-7": b}})
		if err := ss.Save("p", "u", st); err != nil {
			t.Fatal(err)
		}
	}
	if mb.File != snap || mb.Journal == "" {
		t.Fatalf("snapshot %s → %s, journal %q: the small changes were not journaled", snap, mb.File, mb.Journal)
	}
	cur, prev := ss.Load("p", "u")
	if cur == nil || prev == nil || cur.Gen != 4 || prev.Gen != 3 {
		t.Fatalf("load: %v %v", cur, prev)
	}
	got := cur.Mailboxes["INBOX"].Msgs
	if len(got) != 5000-3 || got["guid-7"].UID != 4 || got["guid-7"].Flags.System&store.Seen == 0 {
		t.Errorf("current state: %d entries, guid-7 %+v", len(got), got["guid-7"])
	}
	if p := prev.Mailboxes["INBOX"].Msgs; len(p) != 5000-2 || p["guid-7"].UID != 3 {
		t.Errorf("previous state: %d entries, guid-7 %+v", len(p), p["guid-7"])
	}
}
