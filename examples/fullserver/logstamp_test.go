package main

import (
	"testing"
	"time"
)

// TestStampCache: the cached stamp is what time.Stamp formatting gives,
// across seconds, back in time, within a second and in another zone.
func TestStampCache(t *testing.T) {
	var c stampCache
	tokyo := time.FixedZone("JST", 9*3600)
	base := time.Date(2026, 12, 8, 23, 59, 58, 0, time.UTC)
	for _, tm := range []time.Time{
		base, base.Add(300 * time.Millisecond), base.Add(time.Second), base.Add(2 * time.Second),
		base.In(tokyo), base.Add(2 * time.Second).In(tokyo), base, base.Add(-24 * time.Hour),
	} {
		got := string(c.append([]byte("x "), tm))
		if want := "x " + tm.Format(time.Stamp); got != want {
			t.Errorf("%v: got %q, want %q", tm, got, want)
		}
	}
	var none *stampCache
	if got := string(none.append(nil, base)); got != base.Format(time.Stamp) {
		t.Errorf("nil cache: %q", got)
	}
}
