package store

import (
	"math/rand"
	"testing"
)

func TestUIDSetAddMerges(t *testing.T) {
	var s UIDSet
	for _, u := range []uint32{5, 1, 3, 2, 9, 4, 10, 8} {
		s.Add(u)
	}
	if got := s.String(); got != "1:5,8:10" {
		t.Fatalf("set = %q, want 1:5,8:10", got)
	}
	s.AddRange(20, 6)
	if got := s.String(); got != "1:20" {
		t.Fatalf("after AddRange = %q", got)
	}
	s.AddRange(4294967295, 4294967290)
	if got := s.String(); got != "1:20,4294967290:4294967295" {
		t.Fatalf("max range = %q", got)
	}
}

func TestUIDSetContainsMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		var s UIDSet
		model := map[uint32]bool{}
		for i := 0; i < 20; i++ {
			a := uint32(rng.Intn(100))
			b := a + uint32(rng.Intn(5))
			s.AddRange(a, b)
			for u := a; u <= b; u++ {
				model[u] = true
			}
		}
		for u := uint32(0); u < 110; u++ {
			if s.Contains(u) != model[u] {
				t.Fatalf("round %d: Contains(%d) = %v, model %v, set %s", round, u, s.Contains(u), model[u], s)
			}
		}
		for i := 1; i < len(s); i++ {
			if s[i-1].Stop+1 >= s[i].Start {
				t.Fatalf("set not merged: %s", s)
			}
		}
	}
}

func TestUIDSetNilAndEmpty(t *testing.T) {
	var all UIDSet
	if !all.Contains(42) || all.Empty() {
		t.Fatal("nil set must contain every UID and not be Empty")
	}
	none := UIDSet{}
	if none.Contains(42) || !none.Empty() {
		t.Fatal("empty set must contain nothing")
	}
	if !UIDSetOf(7).Contains(7) || UIDSetOf(7).Contains(8) {
		t.Fatal("UIDSetOf")
	}
}
