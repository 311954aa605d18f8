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
// far fewer times than there were deliveries, each run covering the
// deliveries noted before it started.
func TestSyncDeliveriesSharesSyncfs(t *testing.T) {
	base := t.TempDir()
	b := NewBackend(func(ctx context.Context, user string) (string, error) {
		return filepath.Join(base, user, "Maildir"), nil
	}, Options{})
	var syncs atomic.Int32
	var mu sync.Mutex
	noted := 0 // deliveries started when the last syncfs started
	delivered := 0
	real := b.opts.unsynced.syncfs
	b.opts.unsynced.syncfs = func(dev uint64, dir string) error {
		syncs.Add(1)
		mu.Lock()
		noted = delivered
		mu.Unlock()
		return real(dev, dir)
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
			// The delivery's number is taken before it starts: its
			// writes, and the note that they need a sync, happen inside
			// Deliver, where a syncfs that another caller starts may
			// already cover them (then its own SyncDeliveries finds
			// nothing left to sync). Numbered after Deliver returned,
			// such a delivery looked uncovered.
			mu.Lock()
			delivered++
			mine := delivered
			mu.Unlock()
			if _, err := ds.Deliver(ctx, "INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), store.AppendOptions{LateUID: true, NoSync: true}); err != nil {
				errs <- err
				return
			}
			if err := b.SyncDeliveries(ctx); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			covered := noted
			mu.Unlock()
			if covered < mine {
				errs <- fmt.Errorf("SyncDeliveries of delivery %d returned after a syncfs that started at %d deliveries", mine, covered)
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
