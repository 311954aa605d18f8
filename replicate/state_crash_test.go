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
			if i == 3 && gen%3 != 0 && st.Mailboxes[name] != nil {
				continue // unchanged: its file is kept
			}
			mb := &MailboxState{UIDValidity: 7, Msgs: map[string]BaseMsg{}, dirty: true}
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
			if round == 0 {
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
				for _, b := range mb.Msgs {
					if uint64(b.UID) != fileGen || fileGen > st.Gen {
						t.Fatalf("round %d gen %d %s: entry of gen %d in file %s", round, st.Gen, name, b.UID, mb.File)
					}
				}
			}
		}
		t.Logf("round %d: killed at generation %d", round, cur.Gen)
	}
	// Unused files (a killed write's among them) are collected by the
	// next save: then only the files of two States are left.
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
	if len(ents) > 8 {
		t.Errorf("%d files in box/ after the rounds", len(ents))
	}
}
