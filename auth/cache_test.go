package auth

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

type countingDB struct {
	calls int
	pw    map[string]string
}

func (d *countingDB) Authenticate(_ context.Context, user, password string) (*Identity, error) {
	d.calls++
	p, ok := d.pw[user]
	if !ok {
		return nil, ErrUnknownUser
	}
	if p != password {
		return nil, ErrAuthFailed
	}
	return &Identity{User: user, Fields: map[string]string{"x": "1"}}, nil
}

func TestCache(t *testing.T) {
	db := &countingDB{pw: map[string]string{"a": "pa", "b": "pb", "c": "pc"}}
	now := time.Unix(1000, 0)
	c := &Cache{PassDB: db, TTL: time.Minute, NegativeTTL: 10 * time.Second, Size: 2, now: func() time.Time { return now }}
	ctx := context.Background()
	for range 3 {
		if id, err := c.Authenticate(ctx, "a", "pa"); err != nil || id.User != "a" || id.Fields["x"] != "1" {
			t.Fatal(id, err)
		}
	}
	if db.calls != 1 {
		t.Errorf("positive hits went to the passdb: %d calls", db.calls)
	}
	// A different password is checked by the passdb (it may have changed).
	if _, err := c.Authenticate(ctx, "a", "bad"); !errors.Is(err, ErrAuthFailed) || db.calls != 2 {
		t.Errorf("wrong password: %v, %d calls", err, db.calls)
	}
	for range 2 {
		if _, err := c.Authenticate(ctx, "zz", "x"); !errors.Is(err, ErrUnknownUser) {
			t.Error(err)
		}
	}
	if db.calls != 3 {
		t.Errorf("negative entry not cached: %d calls", db.calls)
	}
	now = now.Add(11 * time.Second) // negative TTL over, positive still valid
	c.Authenticate(ctx, "zz", "x")
	c.Authenticate(ctx, "a", "pa")
	if db.calls != 4 {
		t.Errorf("after negative TTL: %d calls", db.calls)
	}
	// Size bound: b and c push out the least recently used.
	c.Authenticate(ctx, "b", "pb")
	c.Authenticate(ctx, "c", "pc")
	if c.Len() != 2 {
		t.Errorf("Len = %d", c.Len())
	}
	now = now.Add(2 * time.Minute)
	calls := db.calls
	c.Authenticate(ctx, "c", "pc")
	if db.calls != calls+1 {
		t.Error("expired entry served")
	}
	// The golden passwd-file's alice may only log in from loopback: a
	// cached success must not carry over to another address.
	gc := &Cache{PassDB: goldenPasswd(t)}
	if _, err := gc.Authenticate(loopbackCtx(), "alice@example.org", "secret"); err != nil {
		t.Fatal(err)
	}
	far := WithConnInfo(ctx, &ConnInfo{RemoteAddr: tcpAddr("10.9.9.9:1")})
	if _, err := gc.Authenticate(far, "alice@example.org", "secret"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("allow_nets bypassed through the cache: %v", err)
	}
	c.Flush()
	if c.Len() != 0 {
		t.Error("Flush")
	}
	// countingDB has no credential lookup: a Cache in front of it must
	// not make CRAM-MD5 look available; in front of a passwd-file it does.
	for db, want := range map[PassDB]bool{c: false, gc: true} {
		s := &Service{PassDB: db, AuthMechanisms: []string{"PLAIN", "CRAM-MD5"}}
		if got := slices.Contains(s.Mechanisms(loopConn), "CRAM-MD5"); got != want {
			t.Errorf("Cache over %T: CRAM-MD5 offered = %v, want %v", db.(*Cache).PassDB, got, want)
		}
	}
}

// TestCacheBindsAddressAndPassword: a cached success is reused only for
// the same password from the same client address (and no address is an
// address of its own); the reused HMAC state keeps no earlier input.
func TestCacheBindsAddressAndPassword(t *testing.T) {
	db := &countingDB{pw: map[string]string{"a": "pa", "ab": "c"}}
	c := &Cache{PassDB: db}
	at := func(ip string) context.Context {
		if ip == "" {
			return context.Background()
		}
		return WithConnInfo(context.Background(), &ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}})
	}
	steps := []struct {
		ctx      context.Context
		user, pw string
		ok       bool
		calls    int
	}{
		{at("192.0.2.1"), "a", "pa", true, 1},
		{at("192.0.2.1"), "a", "pa", true, 1},   // hit
		{at("192.0.2.1"), "a", "pa ", false, 2}, // another password: the passdb
		{at("192.0.2.1"), "a", "pa", true, 2},   // the failure did not replace the entry
		{at("192.0.2.2"), "a", "pa", true, 3},   // another address
		{at(""), "a", "pa", true, 4},            // no address
		{at(""), "a", "pa", true, 4},            // hit
		{at("2001:db8::1"), "a", "pa", true, 5}, // IPv6
		{at("2001:db8::1"), "a", "pa", true, 5},
		{at(""), "ab", "c", true, 6}, // "a"+"bc" must not collide with "ab"+"c"
		{at(""), "a", "bc", false, 7},
	}
	for i, s := range steps {
		_, err := c.Authenticate(s.ctx, s.user, s.pw)
		if (err == nil) != s.ok || db.calls != s.calls {
			t.Errorf("step %d (%s/%s): %v, %d passdb calls; want ok=%v, %d calls", i, s.user, s.pw, err, db.calls, s.ok, s.calls)
		}
	}
}

// TestCacheHitAllocations: a hit costs only the caller's copy of the
// identity.
func TestCacheHitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	db := &countingDB{pw: map[string]string{"a": "pa"}}
	c := &Cache{PassDB: db}
	ctx := WithConnInfo(context.Background(), &ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}})
	c.Authenticate(ctx, "a", "pa")
	n := testing.AllocsPerRun(100, func() { c.Authenticate(ctx, "a", "pa") })
	id, _ := db.Authenticate(ctx, "a", "pa")
	var sink *Identity
	copies := testing.AllocsPerRun(100, func() { sink = copyIdentity(id) })
	_ = sink
	if n > copies || db.calls != 2 {
		t.Errorf("%v allocations per hit (the copy of the identity: %v), %d passdb calls", n, copies, db.calls)
	}
}
