package auth

import (
	"context"
	"net/netip"
	"time"
)

// penaltyEntry counts recent failures from one IP address. Every
// attempt counts as a failure from the moment it is admitted (a success
// clears the entry, a temporary failure takes its count back), so that
// attempts running at the same time owe penalties for one another: the
// k-th concurrent attempt from an address waits for the penalty of k-1
// failures after the start of the (k-1)-th.
type penaltyEntry struct {
	failures int
	last     time.Time // of the last admitted attempt or failure
	next     time.Time // start of the last admitted attempt
	// full is set once an attempt was turned away for the queue being
	// full, which is logged once until one is admitted again.
	full bool
	// cleared, made for the first attempt that has to wait, is closed
	// when an attempt succeeds: the attempts queued behind it go ahead
	// at once (a client opening several connections with the right
	// password waits for the first login only).
	cleared chan struct{}
}

func (s *Service) penaltyKey(c *ConnInfo) (netip.Addr, bool) {
	if c == nil || s.PenaltyBase < 0 {
		return netip.Addr{}, false
	}
	ip := addrIP(c.RemoteAddr)
	if !ip.IsValid() || s.trusted(ip) {
		return netip.Addr{}, false
	}
	if ip.Is6() {
		// Penalise the /64, where one client has all its addresses.
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return ip, true
}

// penaltyDelay is the penalty owed after failures failures.
func (s *Service) penaltyDelay(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := orDefault(s.PenaltyBase, DefaultPenaltyBase)
	maxD := orDefault(s.PenaltyMax, DefaultPenaltyMax)
	for i := 1; i < failures && d < maxD; i++ {
		d *= 2
	}
	return min(d, maxD)
}

// admit admits one attempt from c's address: it returns how long the
// attempt must wait before it is checked, and counts it as a failure
// until finish says otherwise. An attempt that would wait longer than
// twice PenaltyMax (because others from the address are queued before
// it) is not admitted: ok is false and nothing is counted.
//
// first is true for the first refusal after an admitted attempt, for
// the log.
//
// cleared is closed when an attempt from the address succeeds.
func (s *Service) admit(c *ConnInfo) (wait time.Duration, cleared <-chan struct{}, ok, first bool) {
	ip, tracked := s.penaltyKey(c)
	if !tracked {
		return 0, nil, true, false
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	now := s.nowFunc()
	if s.penalty == nil {
		s.penalty = map[netip.Addr]*penaltyEntry{}
	}
	e := s.penalty[ip]
	if e == nil {
		if len(s.penalty) >= orDefault(s.MaxPenaltyIPs, DefaultMaxPenaltyIPs) {
			s.prunePenalties(now)
		}
		e = &penaltyEntry{}
		s.penalty[ip] = e
	} else if now.Sub(e.last) > orDefault(s.PenaltyWindow, DefaultPenaltyWindow) {
		*e = penaltyEntry{}
	}
	start := now
	if e.next.After(start) {
		start = e.next
	}
	start = start.Add(s.penaltyDelay(e.failures))
	wait = start.Sub(now)
	if wait > 2*orDefault(s.PenaltyMax, DefaultPenaltyMax) {
		first = !e.full
		e.full = true
		return 0, nil, false, first
	}
	e.failures++
	e.last, e.next, e.full = now, start, false
	if wait > 0 {
		if e.cleared == nil {
			e.cleared = make(chan struct{})
		}
		cleared = e.cleared
	}
	return wait, cleared, true, false
}

// waitPenalty admits an attempt from c's address and sleeps for the
// penalty it owes (other addresses are not blocked). An attempt queued
// too long behind others, or whose wait ctx cuts short, is a temporary
// failure, never checked.
func (s *Service) waitPenalty(ctx context.Context, c *ConnInfo) error {
	d, cleared, ok, first := s.admit(c)
	if !ok {
		if first {
			s.logger().Info("auth: attempts refused: too many at once from one address", "rip", addrIP(c.RemoteAddr).String())
		}
		return ErrTempFail
	}
	if d <= 0 {
		return nil
	}
	// Sleep, unless an attempt from the address succeeds meanwhile.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-cleared:
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := s.sleepFor(wctx, d); err != nil && ctx.Err() != nil {
		s.undoAttempt(c)
		return ErrTempFail
	}
	return nil
}

// addPenalty records a refusal: admit counted it already, so only the
// time is refreshed, unless a success cleared the address's entry
// meanwhile, in which case the refusal starts a new one.
func (s *Service) addPenalty(c *ConnInfo) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	now := s.nowFunc()
	e := s.penalty[ip]
	if e == nil {
		if s.penalty == nil {
			s.penalty = map[netip.Addr]*penaltyEntry{}
		}
		if len(s.penalty) >= orDefault(s.MaxPenaltyIPs, DefaultMaxPenaltyIPs) {
			s.prunePenalties(now)
		}
		e = &penaltyEntry{failures: 1}
		s.penalty[ip] = e
	}
	e.last = now
}

// undoAttempt takes back the failure admit counted for an attempt that
// ended in a temporary failure.
func (s *Service) undoAttempt(c *ConnInfo) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	if e := s.penalty[ip]; e != nil && e.failures > 0 {
		e.failures--
	}
}

// prunePenalties drops expired entries, and if the table is still full,
// arbitrary ones; s.penalMu is held.
func (s *Service) prunePenalties(now time.Time) {
	window := orDefault(s.PenaltyWindow, DefaultPenaltyWindow)
	for ip, e := range s.penalty {
		if now.Sub(e.last) > window {
			delete(s.penalty, ip)
		}
	}
	limit := orDefault(s.MaxPenaltyIPs, DefaultMaxPenaltyIPs)
	for ip := range s.penalty {
		if len(s.penalty) < limit {
			break
		}
		delete(s.penalty, ip)
	}
}

func (s *Service) clearPenalty(c *ConnInfo) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	if e := s.penalty[ip]; e != nil && e.cleared != nil {
		close(e.cleared)
	}
	delete(s.penalty, ip)
	s.penalMu.Unlock()
}
