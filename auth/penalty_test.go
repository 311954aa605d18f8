package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guessCounter counts the passwords it is asked to check: the guesses an
// attacker gets.
type guessCounter struct {
	memDB
	n atomic.Int64
}

func (c *guessCounter) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	c.n.Add(1)
	return c.memDB.Authenticate(ctx, user, password)
}

// TestPenaltyConcurrentAttempts: 200 attempts at a time from one
// address, each retried as soon as it is answered, get no more guesses
// checked per second than one attempt after another would under the
// capped penalty: concurrent attempts queue behind one another's
// penalties (or are refused as temporary failures without a check when
// the queue is long), instead of all waiting out the same penalty at
// once. Another address is not slowed down.
func TestPenaltyConcurrentAttempts(t *testing.T) {
	db := &guessCounter{memDB: memDB{"u@d": "pw"}}
	s := &Service{PassDB: db, FailureDelay: -1, AllowPlaintext: true,
		PenaltyBase: 20 * time.Millisecond, PenaltyMax: 60 * time.Millisecond}
	ctx := context.Background()
	const attackers = 200
	run := 1500 * time.Millisecond
	var wg sync.WaitGroup
	var refusedTemp atomic.Int64
	start := time.Now()
	for range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < run {
				_, err := s.Login(ctx, farConn, "u@d", "guess")
				switch {
				case errors.Is(err, ErrTempFail):
					refusedTemp.Add(1)
					time.Sleep(5 * time.Millisecond) // a network round trip
				case !errors.Is(err, ErrAuthFailed):
					t.Errorf("wrong password: %v", err)
					return
				}
			}
		}()
	}
	// Meanwhile another address logs in at once.
	time.Sleep(200 * time.Millisecond)
	other := &ConnInfo{Service: "imap", RemoteAddr: tcpAddr("203.0.113.9:5000")}
	t0 := time.Now()
	if _, err := s.Login(ctx, other, "u@d", "pw"); err != nil {
		t.Errorf("other address: %v", err)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("other address waited %v", d)
	}
	wg.Wait()
	elapsed := time.Since(start)
	guesses := db.n.Load() - 1 // the other address's login
	rate := float64(guesses) / elapsed.Seconds()
	// One after another the penalty reaches its cap (60 ms) after three
	// failures: at most about 1/60ms = 17 guesses/s, plus the first few.
	limit := elapsed.Seconds()/0.060 + 4
	t.Logf("%d guesses in %v (%.1f/s) by %d concurrent attackers; %d refused unchecked", guesses, elapsed.Round(time.Millisecond), rate, attackers, refusedTemp.Load())
	if float64(guesses) > limit {
		t.Errorf("%d guesses in %v, want at most %.0f", guesses, elapsed, limit)
	}
	if guesses < 5 {
		t.Errorf("only %d guesses were checked: the address is locked out, not slowed down", guesses)
	}
	// The queue drained; a success clears the address's penalty.
	time.Sleep(150 * time.Millisecond)
	if _, err := s.Login(ctx, farConn, "u@d", "pw"); err != nil {
		t.Fatalf("good login after the attack: %v", err)
	}
	t0 = time.Now()
	if _, err := s.Login(ctx, farConn, "u@d", "pw"); err != nil || time.Since(t0) > 50*time.Millisecond {
		t.Errorf("second good login: %v after %v", err, time.Since(t0))
	}
}

// TestPenaltyConcurrentGoodLogins: a client that opens several
// connections at once and logs in on each with the right password (as
// mail clients do) waits for the first login only: its success lets
// the queued ones go ahead at once, though each would owe a penalty for
// the others while they run.
func TestPenaltyConcurrentGoodLogins(t *testing.T) {
	db := &guessCounter{memDB: memDB{"u@d": "pw"}}
	s := &Service{PassDB: db, FailureDelay: -1, AllowPlaintext: true,
		PenaltyBase: time.Second, PenaltyMax: 4 * time.Second}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Login(ctx, farConn, "u@d", "pw"); err != nil {
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("6 concurrent good logins took %v", d)
	}
	// The queue is gone: a wrong password now owes nothing, the next
	// attempt one PenaltyBase.
	s.PenaltyBase, s.PenaltyMax = 20*time.Millisecond, 40*time.Millisecond
	s.Login(ctx, farConn, "u@d", "wrong")
	t0 := time.Now()
	s.Login(ctx, farConn, "u@d", "wrong")
	if d := time.Since(t0); d < 20*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("attempt after one failure waited %v, want about 20ms", d)
	}
}
