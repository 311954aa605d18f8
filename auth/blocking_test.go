package auth

import (
	"context"
	"testing"
)

// TestWithBlocking checks when the Service and the Cache say an attempt
// may wait: a cache miss and a failure do, a cache hit does not.
func TestWithBlocking(t *testing.T) {
	s := testService(t)
	s.FailureDelay = -1
	s.PassDB = &Cache{PassDB: s.PassDB}
	calls := 0
	ctx := WithBlocking(context.Background(), func() { calls++ })
	login := func(pw string) (bool, int) {
		calls = 0
		_, err := s.Login(ctx, loopConn, "plain@example.org", pw)
		return err == nil, calls
	}
	if ok, n := login("secret"); !ok || n == 0 {
		t.Errorf("cache miss: success %v, %d calls; want success and a call", ok, n)
	}
	if ok, n := login("secret"); !ok || n != 0 {
		t.Errorf("cache hit: success %v, %d calls; want success and none", ok, n)
	}
	if ok, n := login("wrong"); ok || n == 0 {
		t.Errorf("failure: success %v, %d calls; want failure and a call", ok, n)
	}
}
