package queue

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Local deliveries run in parallel, and a mailbox numbers messages (IMAP
// UIDs, POP3 message numbers) in the order they are saved. So that mail
// sent one message after another shows in the order it was sent, the
// queue keeps, per recipient of a transport that asks for it
// (LocalTransport), a line of the deliveries dispatched to it, by arrival
// time; a delivery saves its copy for that recipient when the ones that
// arrived before it have saved theirs (or failed, or the line has not
// moved for turnWait). Deliveries to different recipients, and the rest of each
// delivery (reading the queue file, the shared sync), stay parallel.
const turnWait = 2 * time.Second

// recipientOrder holds the lines (Queue.order).
type recipientOrder struct {
	mu    sync.Mutex
	cond  sync.Cond
	lines map[string][]*turn   // by lower-cased recipient, ascending arrival
	moved map[string]time.Time // when a delivery last left each line
}

// turn is one delivery's place in one recipient's line.
type turn struct {
	key     string
	arrival int64
	seq     uint64 // dispatch order, for equal arrivals
}

// orderedTransport is implemented by transports whose deliveries to one
// recipient are saved in arrival order.
type orderedTransport interface {
	ordersRecipients() bool
}

// join puts a delivery of a message that arrived at arrival into the
// lines of its recipients and returns its turns, one per recipient.
func (o *recipientOrder) join(arrival time.Time, seq uint64, rcpts []Recipient) []*turn {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lines == nil {
		o.lines, o.moved = map[string][]*turn{}, map[string]time.Time{}
		o.cond.L = &o.mu
	}
	turns := make([]*turn, len(rcpts))
	for i, r := range rcpts {
		t := &turn{key: strings.ToLower(r.Addr), arrival: arrival.UnixNano(), seq: seq}
		line := o.lines[t.key]
		at, _ := slices.BinarySearchFunc(line, t, compareTurns)
		o.lines[t.key] = slices.Insert(line, at, t)
		turns[i] = t
	}
	return turns
}

func compareTurns(a, b *turn) int {
	switch {
	case a.arrival < b.arrival:
		return -1
	case a.arrival > b.arrival:
		return 1
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// wait blocks until t is first in its line, or ctx is done, or the line
// ahead of t has not moved for turnWait (a delivery stuck on a slow
// disk holds the others back only that long).
func (o *recipientOrder) wait(ctx context.Context, t *turn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.first(t) {
		return
	}
	wake := func() {
		o.mu.Lock()
		o.cond.Broadcast()
		o.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, wake)
	defer stop()
	timer := time.AfterFunc(turnWait, wake)
	defer func() { timer.Stop() }()
	since := time.Now()
	for !o.first(t) && ctx.Err() == nil {
		idle := time.Since(since)
		if m := o.moved[t.key]; m.After(since) {
			idle = time.Since(m)
		}
		if idle >= turnWait {
			return
		}
		timer.Stop()
		timer = time.AfterFunc(turnWait-idle, wake)
		o.cond.Wait()
	}
}

// first reports whether t heads its line, or has left it (o.mu held).
func (o *recipientOrder) first(t *turn) bool {
	line := o.lines[t.key]
	return len(line) == 0 || line[0] == t || !slices.Contains(line, t)
}

// leave takes t out of its line; leaving twice is harmless.
func (o *recipientOrder) leave(t *turn) {
	if t == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	line := o.lines[t.key]
	i := slices.Index(line, t)
	if i < 0 {
		return
	}
	line = slices.Delete(line, i, i+1)
	if len(line) == 0 {
		delete(o.lines, t.key)
		delete(o.moved, t.key)
	} else {
		o.lines[t.key] = line
		o.moved[t.key] = time.Now()
	}
	o.cond.Broadcast()
}

// waitTurn blocks until the deliveries of messages that arrived before
// this one have saved their copies for Recipients[i] (see turnWait). It
// returns at once for a transport the queue does not order.
func (d *Delivery) waitTurn(ctx context.Context, i int) {
	if d.order != nil && i < len(d.turns) {
		d.order.wait(ctx, d.turns[i])
	}
}

// endTurn lets the next delivery to Recipients[i] save its copy.
func (d *Delivery) endTurn(i int) {
	if d.order != nil && i < len(d.turns) {
		d.order.leave(d.turns[i])
	}
}

// endTurns ends every turn of d that is still in a line.
func (d *Delivery) endTurns() {
	for i := range d.turns {
		d.endTurn(i)
	}
}
