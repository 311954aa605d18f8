//go:build linux

package queue

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestSpoolDiskFull fills a 1 MiB tmpfs with puts from four goroutines
// (segment, large and held messages): puts fail with ENOSPC, the queue
// keeps working, and after a reopen exactly the acknowledged messages are
// recovered, whole: nothing half-written. Removing messages makes room
// for new puts. It needs to mount a tmpfs (root) and skips otherwise.
func TestSpoolDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a 1 MiB tmpfs to fill (needs root / CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	o := spoolOptions{Dir: dir, SegmentBytes: 64 << 10, LargeBytes: 16 << 10}
	s, _, err := openSpool(o)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		acked    = map[string]string{}
		ackedM   []*qmsg
		failures = map[string]int{}
		wg       sync.WaitGroup
	)
	// A held and a large message first, so that files (not only segment
	// records) are on the disk whatever the goroutines' timing.
	for i, size := range []int{100, 20 << 10} {
		env := spoolTestEnvelope(fmt.Sprintf("first%d@example.jp", i), "r@example.jp")
		env.Hold = i == 0
		body := "Subject: first\r\n\r\n" + strings.Repeat("x", size)
		m, err := s.put(context.Background(), env, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		acked[m.env.ID] = body
		ackedM = append(ackedM, m)
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				env := spoolTestEnvelope(fmt.Sprintf("g%dn%d@example.jp", g, i), "r@example.jp")
				body := fmt.Sprintf("Subject: %d %d\r\n\r\n%s", g, i, strings.Repeat("0123456789abcdef", 200+g*300))
				env.Hold = g == 3 && i%2 == 0
				m, err := s.put(context.Background(), env, strings.NewReader(body))
				mu.Lock()
				if err != nil {
					failures[spoolErrKind(err)]++
				} else {
					acked[m.env.ID] = body
					ackedM = append(ackedM, m)
				}
				n := failures["ENOSPC"]
				mu.Unlock()
				if n >= 20 {
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("full after %d acknowledged puts; failures: %v", len(acked), failures)
	if failures["ENOSPC"] == 0 || len(failures) != 1 {
		t.Fatalf("failures %v, want only ENOSPC", failures)
	}
	// Moving a segment message to its own file fails too, and leaves it
	// where it was.
	for _, m := range ackedM {
		if m.seg != nil {
			if err := s.deferTo(m, m.env.Arrival); err == nil {
				t.Log("deferTo found room (a freed page); fine")
			} else if m.seg == nil || m.queue != queueIncoming {
				t.Fatalf("failed deferTo changed the message: %s", spoolDescribe(m))
			}
			break
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}

	s, msgs, err := openSpool(o)
	if err != nil {
		t.Fatalf("openSpool on a full disk: %v", err)
	}
	defer s.close()
	got := spoolByID(msgs)
	for id, body := range acked {
		m := got[id]
		if m == nil {
			t.Errorf("acknowledged %s lost", id)
			continue
		}
		if c := spoolContent(t, s, m); c != body {
			t.Errorf("%s: %d bytes of content, want %d", id, len(c), len(body))
		}
	}
	for id := range got {
		if _, ok := acked[id]; !ok {
			t.Errorf("%s recovered but its put failed", id)
		}
	}
	// Removing a segment message works on a full disk (the removal is
	// logged if it cannot be written).
	for i := 0; i < 30; i++ {
		if _, err := s.put(context.Background(), spoolTestEnvelope("", "r@example.jp"), strings.NewReader(strings.Repeat("fill\r\n", 50))); err != nil {
			break
		}
	}
	var segRemoved int
	for _, m := range msgs {
		if m.seg != nil && segRemoved < 3 {
			if err := s.remove(m); err != nil {
				t.Fatalf("remove of a segment message on a full disk: %v", err)
			}
			segRemoved++
		}
	}
	// Room again: remove the file messages (their space is freed at
	// once) and put.
	var freed int
	for _, m := range msgs {
		if m.seg == nil {
			if err := s.remove(m); err != nil {
				t.Fatal(err)
			}
			freed++
		}
	}
	if freed == 0 {
		t.Fatal("no message file to remove")
	}
	if _, err := s.put(context.Background(), spoolTestEnvelope("", "r@example.jp"), strings.NewReader("after\r\n")); err != nil {
		t.Fatalf("put after removing %d messages: %v", freed, err)
	}
}

func spoolErrKind(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "ENOSPC"
	}
	return err.Error()
}
