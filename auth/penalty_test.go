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
// capped penalty (plus the MaxConcurrentAttempts that run before the
// first failure): once the address has failed, concurrent attempts
// queue behind one another's penalties (or are refused as temporary failures without a check when
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
	// Before the first failure, DefaultMaxConcurrentAttempts guesses run
	// at once; after it, one after another the penalty reaches its cap
	// (60 ms) after three failures: at most about 1/60ms = 17 guesses/s,
	// plus the first few.
	limit := elapsed.Seconds()/0.060 + 4 + DefaultMaxConcurrentAttempts
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

// slowDB is a passdb whose checks take a while and that records how
// many run at the same time.
type slowDB struct {
	memDB
	delay        time.Duration
	running, top atomic.Int64
}

func (d *slowDB) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	n := d.running.Add(1)
	defer d.running.Add(-1)
	for {
		t := d.top.Load()
		if n <= t || d.top.CompareAndSwap(t, n) {
			break
		}
	}
	time.Sleep(d.delay)
	return d.memDB.Authenticate(ctx, user, password)
}

// TestPenaltyManyGoodLoginsFromOneAddress: a burst of correct logins
// from one address (users behind one NAT, a load test) is never
// penalised or refused, as Dovecot penalises failures only; the checks
// run MaxConcurrentAttempts at a time. Before the fix every attempt
// counted as a failure while it ran, and the burst got temporary
// failures.
func TestPenaltyManyGoodLoginsFromOneAddress(t *testing.T) {
	db := &slowDB{memDB: memDB{"u@d": "pw"}, delay: 5 * time.Millisecond}
	s := &Service{PassDB: db, FailureDelay: -1, AllowPlaintext: true,
		PenaltyBase: time.Second, PenaltyMax: 2 * time.Second, MaxConcurrentAttempts: 4}
	ctx := context.Background()
	const logins = 100
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Login(ctx, farConn, "u@d", "pw"); err != nil {
				failed.Add(1)
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d correct logins from one address failed", failed.Load(), logins)
	}
	if top := db.top.Load(); top > 4 {
		t.Errorf("%d checks ran at once, want at most MaxConcurrentAttempts = 4", top)
	}
	// 100 checks of 5 ms, 4 at a time: about 125 ms; a penalty would
	// cost a second or more.
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("%d good logins took %v", logins, d)
	}
	s.penalMu.Lock()
	n := len(s.penalty)
	s.penalMu.Unlock()
	if n != 0 {
		t.Errorf("penalty table holds %d entries after successes only", n)
	}
}

// TestPenaltyAbandonedSlotExpires: a SASL exchange the client abandons
// after its first step holds a checking slot, but not for ever: once
// the slots of an address are all held by abandoned exchanges, a new
// attempt gets in when the oldest expires.
func TestPenaltyAbandonedSlotExpires(t *testing.T) {
	db := &guessCounter{memDB: memDB{"u@d": "pw"}}
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	s := &Service{PassDB: db, FailureDelay: -1, AllowPlaintext: true, MaxConcurrentAttempts: 2}
	s.init()
	s.nowFunc = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	for range 2 {
		ss, err := s.NewSASL(ctx, "LOGIN", farConn)
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := ss.Next(ctx, nil); err != nil || done {
			t.Fatalf("first LOGIN step: done=%v %v", done, err)
		}
		// Abandoned: the client disconnects.
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := s.Login(cctx, farConn, "u@d", "pw")
	cancel()
	if !errors.Is(err, ErrTempFail) {
		t.Fatalf("login with every slot held: %v, want a temporary failure after waiting", err)
	}
	mu.Lock()
	now = now.Add(slotHold + time.Second)
	mu.Unlock()
	cctx, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.Login(cctx, farConn, "u@d", "pw"); err != nil {
		t.Fatalf("login after the abandoned slots expired: %v", err)
	}
}

// TestPenaltyAfterFailureStillQueues: once an address has failed, a
// burst from it is penalised as before: the attempts queue behind one
// another's penalties (30 and 60 ms here), and those that would queue
// longer than twice PenaltyMax are refused unchecked.
func TestPenaltyAfterFailureStillQueues(t *testing.T) {
	db := &guessCounter{memDB: memDB{"u@d": "pw"}}
	s := &Service{PassDB: db, FailureDelay: -1, AllowPlaintext: true,
		PenaltyBase: 30 * time.Millisecond, PenaltyMax: 30 * time.Millisecond}
	ctx := context.Background()
	if _, err := s.Login(ctx, farConn, "u@d", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var temp atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Login(ctx, farConn, "u@d", "guess"); errors.Is(err, ErrTempFail) {
				temp.Add(1)
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	guesses := db.n.Load() - 1
	if guesses > 2 || temp.Load() != 4-guesses {
		t.Errorf("4 guesses at once after a failure: %d checked, %d refused; want at most 2 checked, the rest refused", guesses, temp.Load())
	}
	if d < 55*time.Millisecond {
		t.Errorf("the queued guesses were answered after %v, want >= 60ms (30 ms penalties one after another)", d)
	}
}
