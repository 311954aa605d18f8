package mbox

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestCrashDuringRewrite kills (SIGKILL) a process in the middle of
// flag changes (in place, a message at a time) and expunges (a rewrite)
// on an 8 MiB mailbox, again and again: each time, the mailbox reads
// whole, with every message (and the expunges done) before or after the
// change, never torn; the log counts the messages left in each state.
func TestCrashDuringRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop skipped in -short")
	}
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	n := writeBigMbox(t, inbox, 8<<20, 8<<10, 0)
	rng := rand.New(rand.NewSource(1))
	expunged := 0
	// The generated messages are \Seen (Status: RO), no keywords.
	states := map[string]bool{fmt.Sprint(store.Seen, []string(nil)): true}
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), "YUBIN_MBOX_CRASH_DIR="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it at some moment after its first finished rewrite, most
		// likely in the middle of another one.
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "rewrote\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper: %q", line)
		}
		time.Sleep(time.Duration(rng.Intn(200)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: inbox})
		if err != nil {
			t.Fatal(err)
		}
		c := context.Background()
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := mb.Status(c)
		if int(st.Messages) > n-expunged || int(st.Messages) < n-expunged-20 {
			t.Fatalf("round %d: %d messages, had %d", round, st.Messages, n-expunged)
		}
		expunged = n - int(st.Messages)
		var last uint32
		var flags *store.Flags
		count := map[string]int{}
		err = mb.Messages(c, nil, func(mi *store.MessageInfo) error {
			if mi.UID <= last || mi.Size < 8000 || mi.Size > 9000 {
				t.Fatalf("round %d: message %+v after UID %d", round, mi, last)
			}
			// Each change sets or clears \Seen and $Crash together on
			// every message: written in place, one message's fields at a
			// time, so a kill leaves each message old or new, never one
			// of the two alone. (The helper also flags the first message
			// \Deleted before it expunges it: a kill in between leaves
			// that one flag on it, a whole state.)
			f := mi.Flags
			f.System &^= store.Deleted
			if (f.System&store.Seen != 0) != (len(f.Keywords) == 1) || len(f.Keywords) > 1 {
				t.Fatalf("round %d: UID %d has %v: a torn change", round, mi.UID, mi.Flags)
			}
			if flags == nil {
				flags = &f
			}
			count[fmt.Sprint(f.System, f.Keywords)]++
			last = mi.UID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mb.Close()
		s.Close()
		t.Logf("round %d: %d expunged so far; messages by flags: %v", round, expunged, count)
		for k := range count {
			states[k] = true
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".inbox.yubin-tmp-*")); len(tmp) > 1 {
			t.Errorf("round %d: temporary files pile up: %v", round, tmp)
		}
	}
	if expunged == 0 && len(states) < 2 {
		t.Error("the helper never finished a rewrite: the test proved nothing")
	}
}

// TestCrashHelper is TestCrashDuringRewrite's child: it flags messages
// and expunges one, over and over, until killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("YUBIN_MBOX_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashDuringRewrite")
	}
	_, mb := openSplitInbox(t, dir)
	c := context.Background()
	for i := 0; ; i++ {
		var first uint32
		mb.Messages(c, nil, func(mi *store.MessageInfo) error {
			if first == 0 {
				first = mi.UID
			}
			return nil
		})
		op := store.FlagsAdd
		if i%2 == 1 {
			op = store.FlagsRemove
		}
		if _, _, err := mb.SetFlags(c, nil, op, store.Flags{System: store.Seen, Keywords: []string{"$Crash"}}, 0); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println("rewrote")
		}
		if i%3 == 2 {
			mb.SetFlags(c, store.UIDSetOf(first), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
			if _, err := mb.Expunge(c, store.UIDSetOf(first)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
