package auth

import (
	"context"
	"net/netip"
	"time"
)

// slotHold is how long a checking slot stays taken by an attempt that
// never finishes (a SASL exchange the client abandoned midway).
const slotHold = time.Minute

// maxSlotWaiters bounds the attempts from one address waiting for a
// checking slot; more are temporary failures.
const maxSlotWaiters = 1024

// penaltyEntry is the state of one IP address. An address without
// recent failures has its attempts checked at once, up to
// MaxConcurrentAttempts at a time (more wait for a slot, as users behind
// one NAT or a client opening several connections do), and is not
// penalised for attempts that succeed: Dovecot penalises failures only.
//
// Once an attempt from the address fails, every further attempt counts
// as a failure from the moment it is admitted (a success clears the
// entry, a temporary failure takes its count back), so that attempts
// running at the same time owe penalties for one another: the k-th
// concurrent attempt waits for the penalty of k-1 failures after the
// start of the (k-1)-th. An attacker's concurrency thus buys at most
// MaxConcurrentAttempts unpenalised guesses, not a guess per connection
// per penalty.
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
	// slots holds the admission times of the unpenalised attempts being
	// checked; waiters counts the attempts waiting for one, and freed,
	// made for them, is closed when a slot is released or a failure
	// changes the regime.
	slots   []time.Time
	waiters int
	freed   chan struct{}
}

// penaltyTicket says how an admitted attempt was counted, so that its
// end undoes exactly that.
type penaltyTicket struct {
	counted bool      // counted as a failure at admission
	slot    time.Time // the checking slot it holds, if not zero
	tracked bool
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

// entry returns ip's entry, made or reset as needed; s.penalMu is held.
func (s *Service) entry(ip netip.Addr, now time.Time) *penaltyEntry {
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
	} else if e.failures > 0 && now.Sub(e.last) > orDefault(s.PenaltyWindow, DefaultPenaltyWindow) {
		e.failures, e.next, e.full = 0, time.Time{}, false
	}
	return e
}

// admission is what admit decided for one attempt.
type admission struct {
	ticket  penaltyTicket
	wait    time.Duration   // to sleep before checking (counted attempts)
	cleared <-chan struct{} // closed when an attempt from the address succeeds
	freed   <-chan struct{} // not nil: wait for a slot, then admit again
	retry   time.Duration   // with freed: when the oldest slot expires
	ok      bool            // false: refused as a temporary failure
	first   bool            // the first refusal since one was admitted, for the log
}

// admit admits one attempt from c's address. An address without
// failures gets a checking slot (or is told to wait for one); one with
// failures gets its place in the penalty queue: how long it must wait
// before it is checked, counted as a failure until finish says
// otherwise. An attempt that would wait longer than twice PenaltyMax
// (because others from the address are queued before it), or that finds
// too many waiting for a slot, is not admitted and nothing is counted.
func (s *Service) admit(c *ConnInfo) admission {
	ip, tracked := s.penaltyKey(c)
	if !tracked {
		return admission{ok: true}
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	now := s.nowFunc()
	e := s.entry(ip, now)
	if e.failures == 0 {
		live := e.slots[:0]
		for _, t := range e.slots {
			if now.Sub(t) < slotHold {
				live = append(live, t)
			}
		}
		e.slots = live
		if len(e.slots) < orDefault(s.MaxConcurrentAttempts, DefaultMaxConcurrentAttempts) {
			// Distinct times, so that release finds its own slot.
			t := now
			for _, u := range e.slots {
				if !u.Before(t) {
					t = u.Add(time.Nanosecond)
				}
			}
			e.slots = append(e.slots, t)
			e.last = now
			return admission{ok: true, ticket: penaltyTicket{tracked: true, slot: t}}
		}
		if e.waiters >= maxSlotWaiters {
			first := !e.full
			e.full = true
			return admission{first: first}
		}
		if e.freed == nil {
			e.freed = make(chan struct{})
		}
		e.waiters++
		return admission{ok: true, freed: e.freed, retry: slotHold - now.Sub(e.slots[0])}
	}
	start := now
	if e.next.After(start) {
		start = e.next
	}
	start = start.Add(s.penaltyDelay(e.failures))
	wait := start.Sub(now)
	if wait > 2*orDefault(s.PenaltyMax, DefaultPenaltyMax) {
		first := !e.full
		e.full = true
		return admission{first: first}
	}
	e.failures++
	e.last, e.next, e.full = now, start, false
	ad := admission{ok: true, wait: wait, ticket: penaltyTicket{tracked: true, counted: true}}
	if wait > 0 {
		if e.cleared == nil {
			e.cleared = make(chan struct{})
		}
		ad.cleared = e.cleared
	}
	return ad
}

// wake tells the attempts waiting for a slot to try again; s.penalMu
// is held.
func (e *penaltyEntry) wake() {
	if e.freed != nil {
		close(e.freed)
		e.freed = nil
	}
}

// unwait takes back a slot waiter that admit counted.
func (s *Service) unwait(c *ConnInfo) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	if e := s.penalty[ip]; e != nil && e.waiters > 0 {
		e.waiters--
	}
	s.penalMu.Unlock()
}

// waitPenalty admits an attempt from c's address and waits for the
// slot or sleeps for the penalty it owes (other addresses are not
// blocked). An attempt queued too long behind others, or whose wait ctx
// cuts short, is a temporary failure, never checked. The ticket goes to
// finish.
func (s *Service) waitPenalty(ctx context.Context, c *ConnInfo) (penaltyTicket, error) {
	for {
		ad := s.admit(c)
		if !ad.ok {
			if ad.first {
				s.logger().Info("auth: attempts refused: too many at once from one address", "rip", addrIP(c.RemoteAddr).String())
			}
			return penaltyTicket{}, ErrTempFail
		}
		if ad.freed != nil {
			MayBlock(ctx)
			err := s.waitSlot(ctx, ad.freed, ad.retry)
			s.unwait(c)
			if err != nil {
				return penaltyTicket{}, ErrTempFail
			}
			continue
		}
		if ad.wait <= 0 {
			return ad.ticket, nil
		}
		// Sleep, unless an attempt from the address succeeds meanwhile.
		MayBlock(ctx)
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-ad.cleared:
				cancel()
			case <-wctx.Done():
			}
		}()
		err := s.sleepFor(wctx, ad.wait)
		cancel()
		if err != nil && ctx.Err() != nil {
			s.endAttempt(c, ad.ticket, false)
			return penaltyTicket{}, ErrTempFail
		}
		return ad.ticket, nil
	}
}

// waitSlot waits until freed is closed, retry has passed (a slot held
// by an abandoned attempt expires) or ctx ends.
func (s *Service) waitSlot(ctx context.Context, freed <-chan struct{}, retry time.Duration) error {
	t := time.NewTimer(max(retry, time.Millisecond))
	defer t.Stop()
	select {
	case <-freed:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endAttempt ends an admitted attempt that did not succeed: it releases
// the attempt's slot, and for a refusal (failed) counts the failure
// unless admit counted it already, in which case only the time is
// refreshed; a temporary failure (!failed) takes back the failure admit
// counted. A success clears the entry instead (clearPenalty).
func (s *Service) endAttempt(c *ConnInfo, t penaltyTicket, failed bool) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	now := s.nowFunc()
	e := s.penalty[ip]
	if e == nil {
		if !failed {
			return
		}
		e = s.entry(ip, now)
	}
	e.release(t.slot)
	switch {
	case failed && t.counted && e.failures > 0:
		e.last = now
	case failed:
		// Not counted at admission, or a success cleared the entry
		// meanwhile: the refusal starts (or adds to) the count. Waiters
		// for a slot now queue for the penalty instead.
		e.failures++
		e.last = now
		e.wake()
	case t.counted && e.failures > 0:
		e.failures--
	}
}

// release frees slot, if the attempt held one; s.penalMu is held.
func (e *penaltyEntry) release(slot time.Time) {
	if slot.IsZero() {
		return
	}
	for i, u := range e.slots {
		if u.Equal(slot) {
			e.slots = append(e.slots[:i], e.slots[i+1:]...)
			e.wake()
			return
		}
	}
}

// prunePenalties drops expired entries, and if the table is still full,
// arbitrary ones; s.penalMu is held.
func (s *Service) prunePenalties(now time.Time) {
	window := orDefault(s.PenaltyWindow, DefaultPenaltyWindow)
	for ip, e := range s.penalty {
		if now.Sub(e.last) > window && e.waiters == 0 {
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

// clearPenalty forgets the failures of c's address after a success,
// releasing the attempt's slot; attempts queued behind a penalty go
// ahead at once.
func (s *Service) clearPenalty(c *ConnInfo, t penaltyTicket) {
	ip, ok := s.penaltyKey(c)
	if !ok {
		return
	}
	s.penalMu.Lock()
	defer s.penalMu.Unlock()
	e := s.penalty[ip]
	if e == nil {
		return
	}
	if e.cleared != nil {
		close(e.cleared)
		e.cleared = nil
	}
	e.release(t.slot)
	e.failures, e.next, e.full = 0, time.Time{}, false
	if len(e.slots) == 0 && e.waiters == 0 {
		delete(s.penalty, ip)
	} else {
		e.wake()
	}
}
