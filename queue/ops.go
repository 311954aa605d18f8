package queue

import (
	"errors"
	"fmt"
	"sort"
)

// ErrNoMessage is returned by the operations for an ID not in the
// queue.
var ErrNoMessage = errors.New("queue: no such message")

// List returns the messages in the queue, oldest first (postqueue -p).
func (q *Queue) List() []Entry {
	q.mu.Lock()
	out := make([]Entry, 0, len(q.msgs))
	for _, e := range q.msgs {
		env := e.m.env
		e.spoolMu.Lock()
		en := Entry{ID: env.ID, Queue: e.listQueue(), Size: e.m.size, Arrival: env.Arrival, From: env.From}
		for i, r := range env.Recipients {
			if !e.m.done[i] {
				en.Recipients = append(en.Recipients, EntryRecipient{Addr: r.Addr, Reason: e.m.reason[i]})
			}
		}
		e.spoolMu.Unlock()
		out = append(out, en)
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Arrival.Equal(out[j].Arrival) {
			return out[i].Arrival.Before(out[j].Arrival)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Flush makes every deferred message due now and forgets which
// destinations were unreachable, then starts a queue run (postqueue -f).
func (q *Queue) Flush() {
	now := q.now()
	q.mu.Lock()
	for _, e := range q.msgs {
		e.spoolMu.Lock()
		if e.m.queue == "deferred" && !e.active {
			e.m.next = now
		}
		e.spoolMu.Unlock()
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// select returns the entries id names ("ALL": every one).
func (q *Queue) pick(id string) ([]*entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id == "ALL" {
		out := make([]*entry, 0, len(q.msgs))
		for _, e := range q.msgs {
			out = append(out, e)
		}
		return out, nil
	}
	e := q.msgs[id]
	if e == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoMessage, id)
	}
	return []*entry{e}, nil
}

// Hold puts messages in the hold queue (postsuper -h): they are not
// delivered until released. A message being delivered goes there when
// the attempts in progress end. It returns how many it held.
func (q *Queue) Hold(id string) (int, error) {
	es, err := q.pick(id)
	n := 0
	for _, e := range es {
		q.mu.Lock()
		if e.active {
			e.hold = true
			q.mu.Unlock()
			n++
			continue
		}
		if e.queueName() == "hold" {
			q.mu.Unlock()
			continue
		}
		e.active = true // keep the scheduler off while it moves
		q.mu.Unlock()
		if merr := q.moveClaimed(e, "hold"); merr != nil {
			return n, merr
		}
		q.log.Info(e.m.env.ID+": placed on hold", "service", "postsuper")
		n++
	}
	return n, err
}

// moveClaimed moves the file of an entry the caller marked active (so
// the scheduler stays off it) to another spool queue, and gives the entry
// back to the scheduler.
func (q *Queue) moveClaimed(e *entry, to string) error {
	e.spoolMu.Lock()
	err := q.sp.move(e.m, to)
	e.spoolMu.Unlock()
	q.mu.Lock()
	e.active = false
	q.mu.Unlock()
	return err
}

// Release moves held messages back to delivery (postsuper -H); they are
// tried at once. It returns how many it released.
func (q *Queue) Release(id string) (int, error) {
	es, err := q.pick(id)
	n := 0
	for _, e := range es {
		q.mu.Lock()
		if e.active || e.queueName() != "hold" {
			q.mu.Unlock()
			continue
		}
		e.active = true
		q.mu.Unlock()
		if merr := q.moveClaimed(e, "deferred"); merr != nil {
			return n, merr
		}
		q.log.Info(e.m.env.ID+": released from hold", "service", "postsuper")
		q.activate(e)
		n++
	}
	return n, err
}

// Delete removes messages from the queue without delivering them
// (postsuper -d); a message being delivered is removed when the
// attempts in progress end. It returns how many it deleted.
func (q *Queue) Delete(id string) (int, error) {
	es, err := q.pick(id)
	n := 0
	for _, e := range es {
		q.mu.Lock()
		if e.active {
			e.del = true
			q.mu.Unlock()
			n++
			continue
		}
		e.active = true
		q.mu.Unlock()
		e.spoolMu.Lock()
		rerr := q.sp.remove(e.m)
		e.spoolMu.Unlock()
		if rerr != nil {
			q.mu.Lock()
			e.active = false
			q.mu.Unlock()
			return n, rerr
		}
		q.forget(e)
		q.log.Info(e.m.env.ID+": removed", "service", "postsuper")
		n++
	}
	return n, err
}

// Requeue tries messages again at once, routing their recipients anew
// through the Router (postsuper -r: after a change of transport_maps or
// relayhost). Recipients queued with an explicit transport keep it.
// Held messages stay held. It returns how many it requeued.
func (q *Queue) Requeue(id string) (int, error) {
	es, err := q.pick(id)
	n := 0
	for _, e := range es {
		q.mu.Lock()
		skip := e.active || e.queueName() == "hold"
		q.mu.Unlock()
		if skip {
			continue
		}
		q.log.Info(e.m.env.ID+": requeued", "service", "postsuper")
		q.activate(e)
		n++
	}
	return n, err
}

var _ Admin = (*Queue)(nil)
