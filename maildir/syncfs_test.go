package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestSyncDeliveriesSharesSyncfs: deliveries with AppendOptions.NoSync
// into several users' Maildirs are all in new/ when Deliver returns, and
// SyncDeliveries called by each of them after its delivery runs syncfs
// far fewer times than there were deliveries, and none returns before a
// syncfs finished that began when its message was already in new/.
func TestSyncDeliveriesSharesSyncfs(t *testing.T) {
	base := t.TempDir()
	b := NewBackend(func(ctx context.Context, user string) (string, error) {
		return filepath.Join(base, user, "Maildir"), nil
	}, Options{})
	var syncs atomic.Int32
	var mu sync.Mutex
	// The messages (by Subject) that were in new/ when a syncfs that
	// has finished began: those it made durable, rename and all.
	synced := map[string]bool{}
	real := b.opts.pending.SyncDevice
	b.opts.pending.SyncFS = func(dev uint64, dir string) error {
		syncs.Add(1)
		files, _ := filepath.Glob(filepath.Join(base, "u*", "Maildir", "new", "*"))
		var present []string
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil {
				subj, _, _ := strings.Cut(string(data), "\r\n")
				present = append(present, subj)
			}
		}
		err := real(dev, dir)
		mu.Lock()
		for _, subj := range present {
			synced[subj] = true
		}
		mu.Unlock()
		return err
	}
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st, err := b.Open(ctx, fmt.Sprintf("u%d", i%4))
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			ds := st.(*storeRef).Store
			if _, err := ds.Deliver(ctx, "INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), store.AppendOptions{LateUID: true, NoSync: true}); err != nil {
				errs <- err
				return
			}
			if err := b.SyncDeliveries(ctx); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			ok := synced[fmt.Sprintf("Subject: %d", i)]
			mu.Unlock()
			if !ok {
				errs <- fmt.Errorf("SyncDeliveries of message %d returned before a syncfs that began after its rename finished", i)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	files, _ := filepath.Glob(filepath.Join(base, "u*", "Maildir", "new", "*"))
	if len(files) != n {
		t.Errorf("%d files in new/, want %d", len(files), n)
	}
	if s := syncs.Load(); s == 0 || s >= n {
		t.Errorf("%d syncfs calls for %d deliveries", s, n)
	}
	t.Logf("%d deliveries, %d syncfs", n, syncs.Load())
	if _, err := os.Stat(base); err != nil {
		t.Fatal(err)
	}
}
