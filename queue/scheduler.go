package queue

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// entry is a message in the scheduler: its spool state and the state
// of the delivery pass in progress, if any.
type entry struct {
	m *qmsg
	// spoolMu serialises the spool calls for this message (its jobs run
	// concurrently).
	spoolMu sync.Mutex

	// Guarded by Queue.mu:
	active    bool      // a pass is in progress (routing or jobs out)
	jobs      int       // jobs of the pass not yet finished
	activated time.Time // when the pass started (delays=a/b)
	hops      int       // Received headers counted at Enqueue, 0 when unknown
	// The pass's outcomes that need a notice to the sender.
	failed  []notice
	success []notice
	// Operations asked for while the pass runs, applied at its end.
	hold, del bool
}

// notice is a recipient's outcome that the sender is told about.
type notice struct {
	idx int
	res Result
	at  time.Time
}

// listQueue is the queue the listing shows the message in; the caller
// holds e.spoolMu.
func (e *entry) listQueue() string {
	if e.active {
		return "active"
	}
	return e.m.queue
}

// queueName is the spool queue the message is in.
func (e *entry) queueName() string {
	e.spoolMu.Lock()
	defer e.spoolMu.Unlock()
	return e.m.queue
}

// job is one delivery: a message's recipients with one route.
type job struct {
	e         *entry
	dest      *destination
	nexthop   string
	rcpts     []int // indexes into the envelope's recipients
	routeErr  string
	scheduled time.Time
	turns     []*turn // its places in its recipients' lines (order.go)
}

// destination is a transport and nexthop with its concurrency window
// and its queue of jobs, as Postfix's queue manager keeps them.
type destination struct {
	key       string
	transport string
	pending   []*job
	active    int
	window    int
	queued    bool   // in Queue.ready
	dead      string // the reason it is suspended, "" when alive
}

// route is a recipient's transport and nexthop for this pass.
type route struct{ transport, nexthop string }

// activate starts a delivery pass of e: it routes the recipients not
// yet done and queues one job per route (split by
// DestinationRecipientLimit). Called without q.mu held.
func (q *Queue) activate(e *entry) {
	q.mu.Lock()
	if e.active || q.closed {
		q.mu.Unlock()
		return
	}
	e.active = true
	e.activated = q.now()
	q.mu.Unlock()

	env := e.m.env
	routes := make(map[route][]int)
	var order []route
	var routeErrs map[int]string
	for i := range env.Recipients {
		if e.m.done[i] {
			continue
		}
		r := env.Recipients[i]
		rt := route{r.Transport, r.Nexthop}
		if rt.transport == "" {
			if q.Router == nil {
				rt = route{}
			} else if t, n, err := q.Router.Route(q.ctx, r.Addr); err != nil {
				if routeErrs == nil {
					routeErrs = map[int]string{}
				}
				routeErrs[i] = "address resolver failure"
				q.log.Warn(fmt.Sprintf("%s: to=<%s>: route: %v", env.ID, r.Addr, err), "service", "qmgr")
				rt = route{}
			} else {
				rt = route{t, n}
			}
		}
		if _, ok := routes[rt]; !ok {
			order = append(order, rt)
		}
		routes[rt] = append(routes[rt], i)
	}
	limit := q.limit(q.DestinationRecipientLimit, 50)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(order) == 0 {
		// Nothing left to deliver (recovered after its last outcome).
		q.wg.Add(1)
		go func() { defer q.wg.Done(); q.finish(e) }()
		return
	}
	now := q.now()
	for _, rt := range order {
		idx := routes[rt]
		for len(idx) > 0 {
			n := min(limit, len(idx))
			j := &job{e: e, nexthop: rt.nexthop, rcpts: idx[:n:n], scheduled: now}
			if rt.transport == "" {
				j.routeErr = "mail transport unavailable"
				if routeErrs != nil && routeErrs[idx[0]] != "" {
					j.routeErr = routeErrs[idx[0]]
				}
			}
			idx = idx[n:]
			e.jobs++
			q.queueJobLocked(rt.transport, j)
		}
	}
	q.pumpLocked()
}

// queueJobLocked appends j to its destination's queue.
func (q *Queue) queueJobLocked(transport string, j *job) {
	key := transport + ":" + strings.ToLower(j.nexthop)
	d := q.dests[key]
	if d == nil {
		d = &destination{key: key, transport: transport, window: q.limit(q.InitialDestinationConcurrency, 5)}
		if lim := q.limit(q.DestinationConcurrency, 20); d.window > lim {
			d.window = lim
		}
		q.dests[key] = d
	}
	j.dest = d
	d.pending = append(d.pending, j)
	if !d.queued {
		d.queued = true
		q.ready = append(q.ready, d)
	}
}

// pumpLocked starts the jobs that the limits allow, taking
// destinations in turn.
func (q *Queue) pumpLocked() {
	if q.closed {
		return
	}
	plimit := q.limit(q.ProcessLimit, 100)
	for len(q.ready) > 0 && q.running < plimit {
		d := q.ready[0]
		q.ready = q.ready[1:]
		if len(d.pending) == 0 {
			d.queued = false
			continue
		}
		if d.dead != "" {
			// A suspended destination: its jobs are deferred without a
			// connection attempt until the next queue run.
			for _, j := range d.pending {
				q.running++
				q.wg.Add(1)
				go q.suspend(j, d.dead)
			}
			d.pending = nil
			d.queued = false
			continue
		}
		if d.active >= d.window {
			d.queued = false // re-queued when one of its jobs ends
			continue
		}
		j := d.pending[0]
		d.pending = d.pending[1:]
		d.active++
		q.running++
		q.joinOrder(j)
		q.wg.Add(1)
		go q.run(j)
		if len(d.pending) > 0 {
			q.ready = append(q.ready, d)
		} else {
			d.queued = false
		}
	}
}

// suspend defers a job of a dead destination.
func (q *Queue) suspend(j *job, reason string) {
	defer q.wg.Done()
	res := make([]Result, len(j.rcpts))
	for i := range res {
		res[i] = Result{Status: Deferred, DSN: "4.4.1", Text: "delivery temporarily suspended: " + reason, Relay: "none"}
	}
	q.done(j, res, q.now(), false)
}

// joinOrder puts a job of an ordered transport into its recipients'
// lines, in dispatch order (q.mu held; order.go).
func (q *Queue) joinOrder(j *job) {
	if j.routeErr != "" {
		return
	}
	if ot, ok := q.Transports[j.dest.transport].(orderedTransport); !ok || !ot.ordersRecipients() {
		return
	}
	env := j.e.m.env
	rcpts := make([]Recipient, len(j.rcpts))
	for i, idx := range j.rcpts {
		rcpts[i] = env.Recipients[idx]
	}
	q.dispatched++
	j.turns = q.order.join(env.Arrival, q.dispatched, rcpts)
}

// run delivers one job.
func (q *Queue) run(j *job) {
	defer q.wg.Done()
	defer func() {
		for _, t := range j.turns {
			q.order.leave(t)
		}
	}()
	start := q.now()
	e := j.e
	env := e.m.env
	n := len(j.rcpts)
	res := make([]Result, n)
	tr := q.Transports[j.dest.transport]
	q.mu.Lock()
	hops := e.hops
	q.mu.Unlock()
	switch {
	case j.routeErr != "" || tr == nil:
		text := j.routeErr
		if text == "" {
			text = "mail transport unavailable"
		}
		for i := range res {
			res[i] = Result{Status: Deferred, DSN: "4.3.0", Text: text, Relay: "none"}
		}
	case hops >= q.limit(q.HopcountLimit, DefaultHopcountLimit):
		// As cleanup(8) counts: the Received fields, the receiving
		// server's own included, reaching hopcount_limit.
		for i := range res {
			res[i] = Result{Status: Bounced, DSN: "5.4.6", Text: "hop count exceeded - possible mail loop", Relay: "none"}
		}
	default:
		d := &Delivery{Envelope: env, Nexthop: j.nexthop, Recipients: make([]Recipient, n), Size: e.m.size, Logger: q.log}
		if j.turns != nil {
			d.order, d.turns = &q.order, j.turns
		}
		for i, idx := range j.rcpts {
			d.Recipients[i] = env.Recipients[idx]
		}
		d.Open = func() (io.ReadCloser, error) { return q.sp.open(e.m) }
		got := tr.Deliver(q.ctx, d)
		copy(res, got)
		for i := len(got); i < n; i++ {
			res[i] = Result{Status: Deferred, DSN: "4.3.0", Text: "delivery agent returned no result", Relay: "none"}
		}
	}
	q.done(j, res, start, true)
}

// done records a job's outcomes, logs them, adjusts the destination's
// window and ends the message's pass when it was its last job.
func (q *Queue) done(j *job, res []Result, start time.Time, ran bool) {
	e := j.e
	env := e.m.env
	now := q.now()
	cancelled := q.ctx.Err() != nil
	connFail, sent := false, false
	e.spoolMu.Lock()
	for i, idx := range j.rcpts {
		r := res[i]
		if cancelled && r.Status != Sent && r.Status != Bounced {
			continue // shut down mid-delivery: nothing learned
		}
		reason := r.Text
		if r.Status == Held {
			continue
		}
		if err := q.sp.record(e.m, idx, r.Status, reason); err != nil {
			q.log.Error(fmt.Sprintf("%s: record outcome of <%s>: %v", env.ID, env.Recipients[idx].Addr, err), "service", "qmgr")
		}
		q.logResult(j, e, idx, r, start, now)
		switch r.Status {
		case Sent:
			sent = true
			q.stats.sent.Add(1)
		case Bounced:
			q.stats.bounced.Add(1)
		case Deferred:
			q.stats.deferred.Add(1)
			if ran && !r.Remote && r.Code == 0 {
				connFail = true
			}
		}
		if q.OnResult != nil {
			q.OnResult(j.dest.transport, r, now.Sub(env.Arrival))
		}
	}
	e.spoolMu.Unlock()

	q.mu.Lock()
	d := j.dest
	if ran {
		d.active--
		switch {
		case sent:
			if lim := q.limit(q.DestinationConcurrency, 20); d.window < lim {
				d.window++
			}
		case connFail:
			d.window = max(1, d.window-1)
			if d.active == 0 && d.window == 1 {
				d.dead = res[0].Text
			}
		}
	}
	q.running--
	for i, idx := range j.rcpts {
		r := res[i]
		rc := env.Recipients[idx]
		switch {
		case r.Status == Held:
			e.hold = true
		case r.Status == Bounced:
			// Every one: notify filters by NOTIFY; the postmaster's
			// copy reports on all.
			e.failed = append(e.failed, notice{idx, r, now})
		case r.Status == Sent && !r.DSNPassed && rc.notify("SUCCESS"):
			e.success = append(e.success, notice{idx, r, now})
		}
	}
	if len(d.pending) > 0 && !d.queued {
		d.queued = true
		q.ready = append(q.ready, d)
	}
	e.jobs--
	last := e.jobs == 0
	q.pumpLocked()
	q.mu.Unlock()
	if last {
		q.finish(e)
	}
}

// logResult writes the delivery agent's line, as Postfix's smtp, lmtp
// and local log it.
func (q *Queue) logResult(j *job, e *entry, idx int, r Result, start, now time.Time) {
	env := e.m.env
	rc := env.Recipients[idx]
	var b strings.Builder
	fmt.Fprintf(&b, "%s: to=<%s>", env.ID, rc.Addr)
	if rc.Orig != "" && !strings.EqualFold(rc.Orig, rc.Addr) {
		fmt.Fprintf(&b, ", orig_to=<%s>", rc.Orig)
	}
	relay := r.Relay
	if relay == "" {
		relay = "none"
	}
	a := e.activated.Sub(env.Arrival)
	bq := start.Sub(e.activated)
	total := now.Sub(env.Arrival)
	dsn := r.DSN
	if dsn == "" {
		dsn = map[Status]string{Sent: "2.0.0", Deferred: "4.0.0", Bounced: "5.0.0"}[r.Status]
	}
	fmt.Fprintf(&b, ", relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)",
		relay, secs(total), secs(a), secs(bq), secs(r.Conn), secs(r.Xfer), dsn, r.Status, r.Text)
	service := j.dest.transport
	if service == "" {
		service = "qmgr"
	}
	// At info level for every status, as Postfix logs them: a log
	// handler that prefixes warnings ("warning: QUEUEID: to=...") would
	// hide deferrals and bounces from log readers such as pflogsumm.
	q.log.Info(b.String(), "service", service)
}

// secs formats a duration as Postfix's delay fields: two decimals
// below 10 seconds, one below 100, whole seconds above.
func secs(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 0.01:
		return "0"
	case s < 10:
		return strconv.FormatFloat(s, 'g', 2, 64)
	}
	return strconv.FormatFloat(s, 'f', 0, 64)
}

// finish ends a message's delivery pass: notices to the sender, then
// removal when every recipient is done, else the deferred queue (or
// the hold queue, or return to sender when too old). Locks: e.spoolMu
// is never held while q.mu is taken.
func (q *Queue) finish(e *entry) {
	env := e.m.env
	if q.ctx.Err() != nil {
		q.mu.Lock()
		e.active = false
		q.mu.Unlock()
		return
	}
	q.mu.Lock()
	failed, success := e.failed, e.success
	e.failed, e.success = nil, nil
	hold, del := e.hold, e.del
	e.hold, e.del = false, false
	q.mu.Unlock()

	if len(failed) > 0 {
		q.notify(e, dsnFailure, failed)
	}
	if len(success) > 0 {
		q.notify(e, dsnSuccess, success)
	}
	now := q.now()
	age := now.Sub(env.Arrival)
	life := q.lifetime(env)
	e.spoolMu.Lock()
	pending := 0
	for i := range env.Recipients {
		if !e.m.done[i] {
			pending++
		}
	}
	warn := q.DelayWarning > 0 && age >= q.DelayWarning && !e.m.warned
	e.spoolMu.Unlock()

	var err error
	switch {
	case pending == 0 || del:
		e.spoolMu.Lock()
		err = q.sp.remove(e.m)
		e.spoolMu.Unlock()
		if err == nil {
			q.forget(e)
			q.log.Info(env.ID+": removed", "service", "qmgr")
			return
		}
	case hold:
		e.spoolMu.Lock()
		err = q.sp.move(e.m, "hold")
		e.spoolMu.Unlock()
		if err == nil {
			q.log.Info(env.ID+": placed on hold", "service", "qmgr")
		}
	case age >= life:
		q.expire(e, now)
		return
	default:
		if warn {
			q.warnDelay(e, now)
		}
		wait := min(max(age, dur(q.MinBackoff, 300*time.Second)), dur(q.MaxBackoff, 4000*time.Second))
		e.spoolMu.Lock()
		err = q.sp.deferTo(e.m, now.Add(wait))
		e.spoolMu.Unlock()
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %v", env.ID, err), "service", "qmgr")
	}
	q.mu.Lock()
	e.active = false
	q.mu.Unlock()
}

// expire returns a message that outlived its lifetime to its sender:
// every recipient not yet done bounces with its last deferral reason.
func (q *Queue) expire(e *entry, now time.Time) {
	env := e.m.env
	var ns []notice
	e.spoolMu.Lock()
	for i := range env.Recipients {
		if e.m.done[i] {
			continue
		}
		reason := e.m.reason[i]
		if reason == "" {
			reason = "message expired"
		}
		r := Result{Status: Bounced, DSN: "4.4.7", Text: reason}
		q.sp.record(e.m, i, Bounced, reason)
		q.stats.bounced.Add(1)
		ns = append(ns, notice{i, r, now}) // notify filters by NOTIFY
	}
	e.spoolMu.Unlock()
	q.log.Info(fmt.Sprintf("%s: from=<%s>, status=expired, returned to sender", env.ID, env.From), "service", "qmgr")
	if len(ns) > 0 {
		q.notify(e, dsnFailure, ns)
	}
	e.spoolMu.Lock()
	err := q.sp.remove(e.m)
	e.spoolMu.Unlock()
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %v", env.ID, err), "service", "qmgr")
		q.mu.Lock()
		e.active = false
		q.mu.Unlock()
		return
	}
	q.forget(e)
	q.log.Info(env.ID+": removed", "service", "qmgr")
}

// warnDelay tells the sender that the message is still being retried.
func (q *Queue) warnDelay(e *entry, now time.Time) {
	env := e.m.env
	var ns []notice
	e.spoolMu.Lock()
	for i := range env.Recipients {
		if !e.m.done[i] { // notify filters by NOTIFY
			ns = append(ns, notice{i, Result{Status: Deferred, Text: e.m.reason[i]}, now})
		}
	}
	e.spoolMu.Unlock()
	if len(ns) > 0 {
		q.notify(e, dsnDelay, ns)
	}
	e.spoolMu.Lock()
	err := q.sp.markWarned(e.m)
	e.spoolMu.Unlock()
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %v", env.ID, err), "service", "qmgr")
	}
}

// forget drops a removed message from the scheduler.
func (q *Queue) forget(e *entry) {
	q.mu.Lock()
	delete(q.msgs, e.m.env.ID)
	e.active = false
	q.mu.Unlock()
}

// runDeferred scans the deferred queue every RunDelay (and when woken
// by Flush) and starts a pass for each message due.
func (q *Queue) runDeferred() {
	defer q.wg.Done()
	t := time.NewTicker(dur(q.RunDelay, 300*time.Second))
	defer t.Stop()
	for {
		q.scanDeferred()
		select {
		case <-q.ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
	}
}

// scanDeferred activates the deferred messages that are due, and gives
// suspended destinations another chance.
func (q *Queue) scanDeferred() {
	now := q.now()
	var due []*entry
	q.mu.Lock()
	for _, d := range q.dests {
		d.dead = ""
		if len(d.pending) == 0 && d.active == 0 {
			delete(q.dests, d.key)
		}
	}
	for _, e := range q.msgs {
		if e.active {
			continue
		}
		e.spoolMu.Lock()
		if e.m.queue == "deferred" && !e.m.next.After(now) || e.m.queue == "incoming" {
			due = append(due, e)
		}
		e.spoolMu.Unlock()
	}
	q.mu.Unlock()
	for _, e := range due {
		q.activate(e)
	}
}
