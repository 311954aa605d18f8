package testutil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// The delivery crash test of a mail store taking
// store.AppendOptions.NoSync: a child process appends to INBOX from
// several goroutines, each append made with NoSync and followed by
// SyncDeliveries, and prints "ack ID" for each once SyncDeliveries
// returned (a mail queue would then drop its own copy). The parent kills
// the child with SIGKILL at a random moment, most likely in the middle
// of writes, then opens the store and checks that every acknowledged
// message is there, whole.

// DeliveryCrashChild is the child's side: it appends until killed.
func DeliveryCrashChild(t *testing.T, s store.Store, syncer store.DeliverySyncer, workers int) {
	ctx := context.Background()
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			for n := 0; ; n++ {
				id := fmt.Sprintf("%d-%d-%d", os.Getpid(), g, n)
				if _, err := mb.Append(ctx, strings.NewReader(crashMessage(id)), store.AppendOptions{NoSync: true, LateUID: true}); err != nil {
					t.Error(err)
					return
				}
				if err := syncer.SyncDeliveries(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %s\n", id)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// crashMessage is the message of id: about 4 KiB, its body made of id.
func crashMessage(id string) string {
	return "Subject: crash " + id + "\r\n\r\n" + strings.Repeat("body of "+id+"\r\n", 4096/(len(id)+10))
}

// DeliveryCrashResult counts what one round left.
type DeliveryCrashResult struct {
	Acked, Present int
}

// CheckDeliveryCrash runs rounds of the test: start returns the child
// (not started; its stdout is taken here), open opens the store the
// child writes to. It fails the test when an acknowledged message is
// missing or not whole, or the mailbox cannot be read; it returns the
// counts of each round.
func CheckDeliveryCrash(t *testing.T, rounds int, start func() *exec.Cmd, open func() store.Store) []DeliveryCrashResult {
	t.Helper()
	var res []DeliveryCrashResult
	acked := map[string]bool{}
	for round := range rounds {
		cmd := start()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		killAt := 5 + rand.IntN(40)
		n := 0
		timeout := time.After(20 * time.Second)
	wait:
		for n < killAt {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if id, ok := strings.CutPrefix(l, "ack "); ok {
					acked[id] = true
					n++
				}
			case <-timeout:
				break wait
			}
		}
		// A moment later, so that writes are in flight.
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		cmd.Process.Kill()
		for l := range lines {
			if id, ok := strings.CutPrefix(l, "ack "); ok {
				acked[id] = true
			}
		}
		cmd.Wait()
		if n == 0 {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}

		s := open()
		present := checkCrashMailbox(t, s, acked)
		s.Close()
		res = append(res, DeliveryCrashResult{Acked: len(acked), Present: present})
	}
	return res
}

// checkCrashMailbox reads INBOX: every acknowledged message must be
// there and whole. It returns the number of whole messages.
func checkCrashMailbox(t *testing.T, s store.Store, acked map[string]bool) int {
	t.Helper()
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if d, ok := mb.(interface{ Damage() []error }); ok && len(d.Damage()) > 0 {
		t.Errorf("damage reported: %v", d.Damage())
	}
	seen := map[string]bool{}
	var uids []uint32
	mb.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		uids = append(uids, mi.UID)
		return nil
	})
	for _, uid := range uids {
		r, err := mb.Open(ctx, uid)
		if err != nil {
			t.Errorf("UID %d: %v", uid, err)
			continue
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Errorf("UID %d: %v", uid, err)
			continue
		}
		text := strings.ReplaceAll(string(b), "\r\n", "\n")
		i := strings.Index(text, "Subject: crash ")
		if i < 0 {
			t.Errorf("UID %d: no subject: %.200q", uid, b)
			continue
		}
		id, _, _ := strings.Cut(text[i+len("Subject: crash "):], "\n")
		want := strings.ReplaceAll(crashMessage(id), "\r\n", "\n")
		if !strings.HasSuffix(strings.TrimRight(text, "\n"), strings.TrimRight(want[strings.Index(want, "\n\n"):], "\n")) {
			// A message the kill cut short may stay (as in mbox, where
			// Dovecot too keeps a torn last message); an acknowledged
			// one must be whole.
			if acked[id] {
				t.Errorf("UID %d (%s): acknowledged but not whole (%d bytes)", uid, id, len(b))
			}
			continue
		}
		seen[id] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Errorf("acknowledged message %s lost", id)
		}
	}
	return len(seen)
}
