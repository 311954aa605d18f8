package replicate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// TestPerfSyncOneChangeLargeMailbox measures one sync of a user whose
// INBOX holds many messages (YUBIN_REPLICATE_PERF_STATE=100000) after one
// flag change: the CPU time of the sync and the bytes of sync state
// written. It runs only with that variable set.
func TestPerfSyncOneChangeLargeMailbox(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("YUBIN_REPLICATE_PERF_STATE"))
	if n <= 0 {
		t.Skip("set YUBIN_REPLICATE_PERF_STATE=messages to measure")
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	writeMaildirMessages(t, dirA, n, 200)
	open := func(d string) *maildir.Store {
		s, err := maildir.Open(d, maildir.Options{Hostname: "h"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	// A assigns the UIDs; B is a copy of A's files (same GUIDs, UIDs
	// and UIDVALIDITY), so the first sync pairs every message.
	a := open(dirA)
	if _, err := a.Status(context.Background(), "INBOX"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", dirA+"/.", dirB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	p := &pair{t: t, A: a, B: open(dirB)}
	stA, stB := t.TempDir(), t.TempDir()
	p.ea = &LocalEndpoint{Store: p.A, States: &StateStore{Dir: stA}, Partner: "b", User: "u"}
	p.eb = &LocalEndpoint{Store: p.B, States: &StateStore{Dir: stB}, Partner: "a", User: "u"}
	t0 := time.Now()
	p.sync()
	t.Logf("first sync (%d messages paired by GUID): %v", n, time.Since(t0))
	p.sync()
	setFlags(t, p.A, "INBOX", uint32(n/2), store.FlagsAdd, store.Flags{System: store.Flagged})
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	size := func(d string) int64 {
		var tot int64
		filepath.Walk(d, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				tot += fi.Size()
			}
			return nil
		})
		return tot
	}
	c0, w0 := cpu(), time.Now()
	st := p.sync()
	c1, w1 := cpu(), time.Now()
	if st.FlagUpdates != 1 {
		t.Errorf("flag updates %d, want 1", st.FlagUpdates)
	}
	t.Logf("sync after one flag change, %d messages: CPU %v, wall %v; state on disk A %d B %d bytes",
		n, c1-c0, w1.Sub(w0), size(stA), size(stB))
}
