package auth

import (
	"context"
	"net/netip"
	"time"
)

// penaltyEntry counts recent failures from one IP address.
type penaltyEntry struct {
	failures int
	last     time.Time
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

// penaltyFor returns the delay owed by c's address.
func (s *Service) penaltyFor(c *ConnInfo) time.Duration {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return 0
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	e := s.penalty[ip]
	if e == nil || s.nowFunc().Sub(e.last) > orDefault(s.PenaltyWindow, DefaultPenaltyWindow) {
		return 0
	}
	d := orDefault(s.PenaltyBase, DefaultPenaltyBase)
	maxD := orDefault(s.PenaltyMax, DefaultPenaltyMax)
	for i := 1; i < e.failures && d < maxD; i++ {
		d *= 2
	}
	return min(d, maxD)
}

// waitPenalty sleeps for c's penalty; other sessions are not blocked.
func (s *Service) waitPenalty(ctx context.Context, c *ConnInfo) error {
	if d := s.penaltyFor(c); d > 0 {
		if err := s.sleepFor(ctx, d); err != nil {
			return ErrTempFail
		}
	}
	return nil
}

func (s *Service) addPenalty(c *ConnInfo) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
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
		e.failures = 0
	}
	e.failures++
	e.last = now
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
	delete(s.penalty, ip)
	s.penalMu.Unlock()
}
