package maildir

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

const crashChildEnv = "YUBIN_MAILDIR_CRASH_CHILD"

// TestCrashDeliverChild is the child of TestDeliverSurvivesKill: it
// delivers into the Maildir named by the environment from several
// goroutines until it is killed, printing "uid sha256 size" for each
// delivery Deliver acknowledged, after it returned.
func TestCrashDeliverChild(t *testing.T) {
	root := os.Getenv(crashChildEnv)
	if root == "" {
		t.Skip("run by TestDeliverSurvivesKill")
	}
	s, err := Open(root, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				size := 200 + (i*7919+g*104729)%(150<<10)
				body := []byte(fmt.Sprintf("Subject: crash %d/%d/%d\r\n\r\n", os.Getpid(), g, i))
				body = append(body, bytes.Repeat([]byte{byte('a' + (i+g)%26)}, size)...)
				res, err := s.Deliver(context.Background(), store.Inbox, bytes.NewReader(body), store.AppendOptions{})
				if err != nil {
					fmt.Println("deliver:", err)
					os.Exit(2)
				}
				sum := sha256.Sum256(body)
				mu.Lock()
				os.Stdout.WriteString(fmt.Sprintf("%d %x %d\n", res.UID, sum, len(body)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestDeliverSurvivesKill: a process delivering from several goroutines
// at once (so that deliveries share group commits) is killed with
// SIGKILL at different moments; every delivery it acknowledged is then
// in the Maildir under its UID, byte for byte, the dead process's lock
// is broken, and no UID is given twice.
func TestDeliverSurvivesKill(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no test executable:", err)
	}
	root := filepath.Join(t.TempDir(), "Maildir")
	type acked struct {
		sum  string
		size int
	}
	want := map[uint32]acked{}
	for round, after := range []int{1, 15, 40} {
		cmd := exec.Command(exe, "-test.run=^TestCrashDeliverChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := make(chan struct{})
		var lines []string
		sc := bufio.NewScanner(out)
		timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) == after {
				// Let some more deliveries get under way, then kill
				// mid-write.
				go func() {
					time.Sleep(time.Duration(round) * 7 * time.Millisecond)
					cmd.Process.Signal(syscall.SIGKILL)
					close(killed)
				}()
			}
		}
		timer.Stop()
		io.Copy(io.Discard, out)
		cmd.Wait()
		select {
		case <-killed:
		default:
			t.Fatalf("round %d: child ended by itself after %d deliveries: %q", round, len(lines), lines)
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 {
				t.Fatalf("child said %q", l)
			}
			uid, err1 := strconv.ParseUint(f[0], 10, 32)
			size, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("child said %q", l)
			}
			if _, dup := want[uint32(uid)]; dup {
				t.Fatalf("UID %d acknowledged twice", uid)
			}
			want[uint32(uid)] = acked{f[1], size}
		}
		t.Logf("round %d: %d deliveries acknowledged before the kill", round, len(lines))

		// A fresh store (another process would do the same) finds every
		// acknowledged message intact.
		s, err := Open(root, Options{LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		have := map[uint32]bool{}
		if err := mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
			have[mi.UID] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for uid, a := range want {
			if !have[uid] {
				t.Fatalf("round %d: acknowledged UID %d lost", round, uid)
			}
			r, err := mb.Open(context.Background(), uid)
			if err != nil {
				t.Fatalf("round %d: UID %d: %v", round, uid, err)
			}
			h := sha256.New()
			n, _ := io.Copy(h, r)
			r.Close()
			if hex.EncodeToString(h.Sum(nil)) != a.sum || int(n) != a.size {
				t.Fatalf("round %d: UID %d: %d bytes, not the %d acknowledged", round, uid, n, a.size)
			}
		}
		// Appending works: the dead child's uidlist lock (if it held it)
		// is broken.
		if _, err := s.Deliver(context.Background(), store.Inbox, strings.NewReader("Subject: after\r\n\r\n"), store.AppendOptions{}); err != nil {
			t.Fatalf("round %d: deliver after the kill: %v", round, err)
		}
		mb.Close()
		s.Close()
	}
}
