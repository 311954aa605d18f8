package blobtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
)

func testCancelledContext(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	stored, storedKey := randomBlob(t, 100)
	put(t, ctx, s, storedKey, stored)
	done, cancel := context.WithCancel(ctx)
	cancel()

	b, key := randomBlob(t, 1000)
	if err := s.Put(done, key, bytes.NewReader(b), int64(len(b))); err == nil {
		t.Errorf("Put with a cancelled context succeeded")
	}
	checkAbsent(t, ctx, s, key)
	if r, err := s.Open(done, storedKey); err == nil {
		// A lazy store may open without a request; reading must fail.
		if _, err := r.ReadAt(make([]byte, 10), 0); err == nil {
			t.Errorf("Open and ReadAt with a cancelled context succeeded")
		}
		r.Close()
	}
	if err := s.List(done, func(blob.Info) error { return nil }); err == nil {
		t.Errorf("List with a cancelled context succeeded")
	}
	if err := s.Delete(done, storedKey); err == nil {
		t.Errorf("Delete with a cancelled context succeeded")
	}
	checkStored(t, ctx, s, storedKey, stored)
}

// slowReader yields 1 KiB every 10 ms, forever; it never blocks long,
// so a store that checks its context between reads notices a cancel.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	n := min(len(p), 1024)
	clear(p[:n])
	return n, nil
}

func testCancelDuringPut(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(testContext(t))
	_, key := randomBlob(t, 1)
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := s.Put(ctx, key, slowReader{}, 1<<30)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("Put cancelled part way succeeded")
	}
	if took > 10*time.Second {
		t.Errorf("Put returned %v after its context was cancelled", took-300*time.Millisecond)
	}
	checkAbsent(t, testContext(t), s, key)
}
