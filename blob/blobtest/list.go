package blobtest

import (
	"errors"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
)

// clockSlack allows for a server whose clock differs a little from the
// test's and for times kept to the second (S3's Last-Modified).
const clockSlack = 2 * time.Second

func testList(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	if got := list(t, ctx, s); len(got) != 0 {
		t.Fatalf("List of an empty store gave %d blobs", len(got))
	}
	want := map[string]int64{}
	before := time.Now()
	for _, n := range []int{0, 1, 10, 1000, 70000} {
		b, key := randomBlob(t, n)
		put(t, ctx, s, key, b)
		want[key] = int64(n)
	}
	after := time.Now()
	seen := map[string]bool{}
	for _, in := range list(t, ctx, s) {
		size, ok := want[in.Key]
		switch {
		case !ok:
			t.Errorf("List names %q, which was never stored", in.Key)
			continue
		case seen[in.Key]:
			t.Errorf("List names %s twice", in.Key)
		case in.Size != size:
			t.Errorf("List gives size %d for a blob of %d bytes", in.Size, size)
		case in.Created.Before(before.Add(-clockSlack)) || in.Created.After(after.Add(clockSlack)):
			t.Errorf("List gives Created %v for a blob stored between %v and %v", in.Created, before, after)
		}
		seen[in.Key] = true
	}
	if len(seen) != len(want) {
		t.Errorf("List named %d of the %d stored blobs", len(seen), len(want))
	}
}

func testListStops(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	for range 5 {
		b, key := randomBlob(t, 100)
		put(t, ctx, s, key, b)
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(ctx, func(blob.Info) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List returned %v, want the callback's error", err)
	}
	if calls != 2 {
		t.Errorf("List called its callback %d times after it returned an error on call 2", calls)
	}
}
