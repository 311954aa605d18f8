package maildir

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Two Stores (as two processes would) append to one folder's message
// data at the same time, one of them replacing its records often enough
// to have the file rewritten meanwhile: no record of either is lost,
// each reads the other's, and a fresh Store reads them all.
func TestMessageDataConcurrentStores(t *testing.T) {
	const n = 300
	root := msgDataEnv(t, n)
	a, doneA := openDataAt(t, root)
	defer doneA()
	b, doneB := openDataAt(t, root)
	defer doneB()
	ctx := context.Background()
	val := func(name string, round int, uid uint32) string {
		return fmt.Sprintf("%s%d-%d", name, round, uid)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for round := 0; round < 4; round++ {
			for u := uint32(1); u <= n; u++ {
				if err := a.SetMessageData(ctx, u, "a", []byte(val("a", round, u))); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for u := uint32(1); u <= n; u++ {
			if err := b.SetMessageData(ctx, u, "b", []byte(val("b", 0, u))); err != nil {
				errs <- err
				return
			}
			// Reading the other's records midway finds only right ones.
			if u%50 == 0 {
				if err := b.MessageData(ctx, nil, "a", func(uid uint32, data []byte) error {
					for round := 0; round < 4; round++ {
						if string(data) == val("a", round, uid) {
							return nil
						}
					}
					return fmt.Errorf("UID %d: read %q", uid, data)
				}); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(who string, got map[uint32]string, name string, round int) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("%s reads %d records of %q, want %d", who, len(got), name, n)
		}
		for u := uint32(1); u <= n; u++ {
			if got[u] != val(name, round, u) {
				t.Fatalf("%s: %q of UID %d = %q, want %q", who, name, u, got[u], val(name, round, u))
			}
		}
	}
	for _, tc := range []struct {
		who  string
		name string
	}{{"a", "b"}, {"b", "a"}} {
		ds := a
		if tc.who == "b" {
			ds = b
		}
		got := map[uint32]string{}
		if err := ds.MessageData(ctx, nil, tc.name, func(uid uint32, data []byte) error {
			got[uid] = string(data)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		round := 0
		if tc.name == "a" {
			round = 3
		}
		check("store "+tc.who, got, tc.name, round)
	}
	check("a fresh store", reopenData(t, root, "a"), "a", 3)
	check("a fresh store", reopenData(t, root, "b"), "b", 0)
}
