package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestAttempt: attempts checked by the caller (APOP-like) share the
// per-IP penalty with Login: their failures delay the next Login and
// attempt from the address, a success clears the penalty, a temporary
// failure does not count, and errors are mapped like Login's.
func TestAttempt(t *testing.T) {
	s := testService(t)
	s.PenaltyBase, s.PenaltyMax = 10*time.Millisecond, 35*time.Millisecond
	sleeps := recordSleeps(s)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "caller's")
	var checked int
	check := func(id *Identity, err error) func(context.Context) (*Identity, error) {
		return func(c context.Context) (*Identity, error) {
			checked++
			if c.Value(key{}) != "caller's" {
				t.Error("check did not get the caller's context")
			}
			return id, err
		}
	}
	secret := errors.New("digest mismatch for alice, stored password is hunter2")

	_, err := s.Attempt(ctx, loopConn, "APOP", "alice", check(nil, secret))
	if !errors.Is(err, ErrAuthFailed) || err.Error() != ErrAuthFailed.Error() {
		t.Fatalf("refusal = %v, want ErrAuthFailed alone", err)
	}
	s.Attempt(ctx, loopConn, "APOP", "alice", check(nil, secret))
	// Two failed attempts: Login owes 20 ms, and fails again.
	s.Login(ctx, loopConn, "plain@example.org", "wrong")
	// The next attempt owes 35 ms (capped) and succeeds: penalty cleared.
	id, err := s.Attempt(ctx, loopConn, "APOP", "alice", check(&Identity{User: "alice"}, nil))
	if err != nil || id.User != "alice" {
		t.Fatalf("successful attempt = %v, %v", id, err)
	}
	if got, want := fmt.Sprint(sleeps.take()), "[10ms 20ms 35ms]"; got != want {
		t.Errorf("penalties = %v, want %v", got, want)
	}
	// Temporary failures are not held against the address.
	for range 3 {
		if _, err := s.Attempt(ctx, loopConn, "APOP", "alice", check(nil, ErrTempFail)); !errors.Is(err, ErrTempFail) {
			t.Fatalf("temporary failure = %v", err)
		}
	}
	if _, err := s.Attempt(ctx, loopConn, "APOP", "alice", check(nil, context.DeadlineExceeded)); !errors.Is(err, ErrTempFail) {
		t.Fatalf("context failure = %v", err)
	}
	// A check that returns no identity and no error is a refusal.
	if _, err := s.Attempt(ctx, loopConn, "APOP", "alice", check(nil, nil)); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("no identity = %v", err)
	}
	if _, err := s.Login(ctx, loopConn, "plain@example.org", "secret"); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(sleeps.take()), "[10ms]"; got != want {
		t.Errorf("penalties after a success and temporary failures = %v, want %v", got, want)
	}
	if checked != 8 {
		t.Errorf("check ran %d times, want 8", checked)
	}
}

// TestAttemptFailureDelay: a refused attempt is answered FailureDelay
// after its check started, a successful one at once.
func TestAttemptFailureDelay(t *testing.T) {
	s := testService(t)
	s.FailureDelay, s.PenaltyBase = 50*time.Millisecond, 10*time.Millisecond
	sleeps := recordSleeps(s)
	ctx := context.Background()
	s.Attempt(ctx, farConn, "APOP", "alice", func(context.Context) (*Identity, error) {
		return &Identity{User: "alice"}, nil
	})
	if slept := sleeps.take(); len(slept) != 0 {
		t.Fatalf("success slept %v", slept)
	}
	s.Attempt(ctx, farConn, "APOP", "alice", func(context.Context) (*Identity, error) {
		return nil, ErrAuthFailed
	})
	if slept := sleeps.take(); len(slept) != 1 || slept[0] <= 0 || slept[0] > 50*time.Millisecond {
		t.Fatalf("failure slept %v, want one delay of up to 50ms", slept)
	}
	// A penalty wait cut short by the context is a temporary failure.
	s.sleepFor = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	_, err := s.Attempt(cctx, farConn, "APOP", "alice", func(context.Context) (*Identity, error) {
		ran = true
		return &Identity{User: "alice"}, nil
	})
	if !errors.Is(err, ErrTempFail) || ran {
		t.Fatalf("cancelled penalty wait: %v (check ran: %v)", err, ran)
	}
}
