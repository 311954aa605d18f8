package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
)

// Run runs the conformance suite as subtests of t. newStore is called
// once per subtest and returns an empty store of its own; it may
// register cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Seek", testSeek},
		{"ReadAt", testReadAt},
		{"PutExisting", testPutExisting},
		{"PutShortReader", testPutShort},
		{"PutLongReader", testPutLong},
		{"PutFailingReader", testPutFailing},
		{"OpenMissing", testOpenMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"ListStops", testListStops},
		{"ConcurrentPuts", testConcurrentPuts},
		{"InvalidKeys", testInvalidKeys},
		{"CancelledContext", testCancelledContext},
		{"CancelDuringPut", testCancelDuringPut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// timeout bounds every call the suite makes; a store that hangs fails
// instead of stalling the test binary.
const timeout = 60 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// randomBlob returns n random bytes and their key.
func randomBlob(t *testing.T, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b, blob.Key(b)
}

// put stores b under key and fails the test on error.
func put(t *testing.T, ctx context.Context, s blob.Store, key string, b []byte) {
	t.Helper()
	if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("Put(%d bytes): %v", len(b), err)
	}
}

// readAll opens key and returns its bytes and reported size.
func readAll(t *testing.T, ctx context.Context, s blob.Store, key string) ([]byte, int64) {
	t.Helper()
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading blob: %v", err)
	}
	return b, r.Size()
}

// checkStored fails unless key reads back as want.
func checkStored(t *testing.T, ctx context.Context, s blob.Store, key string, want []byte) {
	t.Helper()
	got, size := readAll(t, ctx, s, key)
	if size != int64(len(want)) {
		t.Errorf("Size() = %d, want %d", size, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read %d bytes that differ from the %d stored", len(got), len(want))
	}
}

// checkAbsent fails unless Open of key wraps blob.ErrNotFound and List
// does not name it.
func checkAbsent(t *testing.T, ctx context.Context, s blob.Store, key string) {
	t.Helper()
	r, err := s.Open(ctx, key)
	if err == nil {
		r.Close()
		t.Errorf("Open of a key that should hold nothing succeeded")
	} else if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a key that should hold nothing: %v, want an error wrapping blob.ErrNotFound", err)
	}
	for _, in := range list(t, ctx, s) {
		if in.Key == key {
			t.Errorf("List names %s, which should hold nothing", key)
		}
	}
}

// list returns every Info List reports.
func list(t *testing.T, ctx context.Context, s blob.Store) []blob.Info {
	t.Helper()
	var all []blob.Info
	if err := s.List(ctx, func(in blob.Info) error { all = append(all, in); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	return all
}
