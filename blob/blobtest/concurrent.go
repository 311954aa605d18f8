package blobtest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/blob"
)

func testConcurrentPuts(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	same, sameKey := randomBlob(t, 20000)
	type item struct {
		b   []byte
		key string
	}
	var distinct []item
	for range 16 {
		b, key := randomBlob(t, 5000)
		distinct = append(distinct, item{b, key})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			if err := s.Put(ctx, sameKey, bytes.NewReader(same), int64(len(same))); err != nil {
				errs <- fmt.Errorf("put of the same key from goroutine %d: %w", i, err)
			}
		})
		wg.Go(func() {
			it := distinct[i]
			if err := s.Put(ctx, it.key, bytes.NewReader(it.b), int64(len(it.b))); err != nil {
				errs <- fmt.Errorf("put of key %d: %w", i, err)
				return
			}
			// Read back at once, while others still write.
			r, err := s.Open(ctx, it.key)
			if err != nil {
				errs <- fmt.Errorf("open of key %d after Put: %w", i, err)
				return
			}
			defer r.Close()
			got := make([]byte, len(it.b)+1)
			k, _ := r.ReadAt(got, 0)
			if k != len(it.b) || !bytes.Equal(got[:k], it.b) {
				errs <- fmt.Errorf("key %d read back %d bytes, not the %d stored", i, k, len(it.b))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkStored(t, ctx, s, sameKey, same)
	for _, it := range distinct {
		checkStored(t, ctx, s, it.key, it.b)
	}
	if got := len(list(t, ctx, s)); got != 17 {
		t.Errorf("List names %d blobs, want 17", got)
	}
}
