package syncfs

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncSharesOneSyncfs: 50 callers that noted writes and call Sync
// at once are served by a few syncfs calls, each after their note; a
// Sync with nothing noted makes none.
func TestSyncSharesOneSyncfs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var p Pending
	var calls atomic.Int32
	p.SyncFS = func(dev uint64, d string) error {
		calls.Add(1)
		if d != dir {
			t.Errorf("synced %s", d)
		}
		return nil
	}
	if err := p.Sync(context.Background()); err != nil || calls.Load() != 0 {
		t.Fatalf("empty Sync: %v, %d calls", err, calls.Load())
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Note(dir); err != nil {
				t.Error(err)
			}
			if err := p.Sync(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n < 1 || n > 10 {
		t.Errorf("%d syncfs calls for 50 callers", n)
	}
	before := calls.Load()
	p.Note(dir)
	p.Sync(context.Background())
	if calls.Load() != before+1 {
		t.Errorf("a note after the batch was not synced")
	}
}

// TestSyncRealFS: Note and Sync on a real directory make a real syncfs
// without error; a missing directory is an error from Note.
func TestSyncRealFS(t *testing.T) {
	t.Parallel()
	var p Pending
	defer p.Close()
	if err := p.Note(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Note("/nonexistent/dir"); err == nil {
		t.Fatal("Note of a missing directory succeeded")
	}
}

// TestGroupShares: callers that ask while a batch runs share the next
// one, whose function starts after all of them asked.
func TestGroupShares(t *testing.T) {
	t.Parallel()
	var g Group
	var calls, asked atomic.Int32
	release := make(chan struct{})
	first := make(chan struct{})
	go g.Do(func() error { close(first); <-release; return nil })
	<-first
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asked.Add(1)
			g.Do(func() error {
				calls.Add(1)
				return nil
			})
		}()
	}
	for asked.Load() < 20 {
		runtime.Gosched()
	}
	time.Sleep(50 * time.Millisecond) // all 20 inside Do, waiting
	close(release)
	wg.Wait()
	// One batch, or two should a caller have been slow to reach Do.
	if n := calls.Load(); n < 1 || n > 2 {
		t.Errorf("%d batches for 20 callers waiting behind one", n)
	}
}
