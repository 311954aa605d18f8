package lmtp

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// countingStore is a store.Store that only counts Close calls.
type countingStore struct {
	store.Store
	closed *atomic.Int32
}

func (s countingStore) Close() error { s.closed.Add(1); return nil }

// TestStoreCacheExpiry: a store kept open is reused while in use and
// recently used, and closed by a later open once it has been idle longer
// than the keep time.
func TestStoreCacheExpiry(t *testing.T) {
	var opened, closed atomic.Int32
	be := store.BackendFunc(func(ctx context.Context, name string) (store.Store, error) {
		opened.Add(1)
		return countingStore{closed: &closed}, nil
	})
	var c storeCache
	ctx := context.Background()
	keep := 50 * time.Millisecond
	_, rel, err := c.open(ctx, be, "a", keep)
	if err != nil {
		t.Fatal(err)
	}
	_, rel2, _ := c.open(ctx, be, "a", keep)
	rel()
	rel2()
	if opened.Load() != 1 {
		t.Fatalf("opened %d times, want 1", opened.Load())
	}
	time.Sleep(3 * keep)
	_, rel3, _ := c.open(ctx, be, "b", keep)
	rel3()
	if closed.Load() != 1 {
		t.Fatalf("idle store closed %d times, want 1", closed.Load())
	}
	c.close()
	if closed.Load() != 2 {
		t.Fatalf("close: %d closed, want 2", closed.Load())
	}
}
