package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Queue is a durable mail queue with its delivery scheduler: Postfix's
// cleanup (Enqueue), queue manager (the scheduler) and the delivery
// agents (Transports) in one value. Set the fields, then call Start;
// Enqueue hands messages in, and Close stops delivery. The zero values
// of the limits and times are Postfix's defaults.
type Queue struct {
	// Dir is the queue directory (Postfix's queue_directory). Required.
	Dir string
	// Hostname is this host's name (myhostname) for DSNs and logs.
	Hostname string
	// Transports deliver by route transport name, as master.cf names
	// services: "local", "virtual", "lmtp", "smtp", "relay", "error",
	// "discard", ... A recipient whose transport is missing is deferred
	// with "mail transport unavailable".
	Transports map[string]Transport
	// Router routes recipients that Enqueue gets without a transport,
	// and every recipient of a requeued message (postsuper -r). Nil:
	// such recipients are refused by Enqueue.
	Router Router
	// Logger gets Postfix-style maillog lines, with a "service"
	// attribute naming the program (qmgr, bounce, or the transport).
	Logger *slog.Logger

	// ProcessLimit bounds the deliveries in progress at once
	// (default_process_limit, 100).
	ProcessLimit int
	// DestinationConcurrency bounds the deliveries to one destination
	// (transport and nexthop) at once
	// (default_destination_concurrency_limit, 20).
	DestinationConcurrency int
	// InitialDestinationConcurrency is where a destination's window
	// starts; each success widens it by one up to
	// DestinationConcurrency, each connection failure narrows it
	// (initial_destination_concurrency, 5).
	InitialDestinationConcurrency int
	// DestinationRecipientLimit bounds the recipients of one delivery
	// (default_destination_recipient_limit, 50).
	DestinationRecipientLimit int
	// MinBackoff and MaxBackoff bound the time between attempts of a
	// deferred message (minimal_backoff_time 300s, maximal_backoff_time
	// 4000s); in between, the wait is the message's age, so it doubles
	// with each attempt as in Postfix.
	MinBackoff, MaxBackoff time.Duration
	// RunDelay is how often the deferred queue is scanned for messages
	// due (queue_run_delay, 300s).
	RunDelay time.Duration
	// MaxLifetime is how long a message may stay deferred before it is
	// returned to its sender (maximal_queue_lifetime, 5 days);
	// BounceLifetime the same for bounces, messages from the null
	// sender (bounce_queue_lifetime, 5 days).
	MaxLifetime, BounceLifetime time.Duration
	// DelayWarning is the age at which the sender is told that a
	// message is still being retried (delay_warning_time; 0, the
	// default, sends no warnings).
	DelayWarning time.Duration
	// HopcountLimit bounces messages with more Received headers
	// (hopcount_limit, 50).
	HopcountLimit int
	// BounceSizeLimit bounds the original message returned in a bounce
	// (bounce_size_limit, 50000 bytes).
	BounceSizeLimit int
	// NotifyClasses is notify_classes: the problems the postmaster is
	// told of (postmaster_notice.go). The queue acts on "bounce"
	// (postmaster copies of bounces' headers, to
	// BounceNoticeRecipient; implies "2bounce"), "2bounce" (bounces
	// that could not be delivered, to DoubleBounceNoticeRecipient;
	// without it they are discarded) and "delay" (copies of delay
	// warnings' headers, to DelayNoticeRecipient). Nil is Postfix's
	// default, "resource, software": SMTP server classes that send
	// nothing from the queue.
	NotifyClasses []string
	// BounceNoticeRecipient, DoubleBounceNoticeRecipient and
	// DelayNoticeRecipient are bounce_notice_recipient,
	// 2bounce_notice_recipient and delay_notice_recipient:
	// "postmaster" when empty; an address without a domain gets
	// "@"+Hostname.
	BounceNoticeRecipient, DoubleBounceNoticeRecipient, DelayNoticeRecipient string
	// DoubleBounceSender is double_bounce_sender: the local part of the
	// sender of postmaster notices ("double-bounce@"+Hostname when
	// empty). Mail from it that cannot be delivered is discarded,
	// which ends bounce loops.
	DoubleBounceSender string
	// OnResult, when set, is called after each recipient's delivery
	// attempt (for metrics).
	OnResult func(transport string, r Result, delay time.Duration)
	// SignNotice, when set, signs the notices the queue writes itself
	// (bounces, delay and success notices, postmaster copies): it gets
	// the notice and returns header fields to prepend to it (such as
	// DKIM-Signature), "" to leave it unsigned. On error the notice goes
	// out unsigned and the error is logged (notice_sign.go).
	SignNotice func(ctx context.Context, msg []byte) (string, error)
	// NoSync skips fsync: for tests and benchmarks only. A queue
	// without it loses acknowledged mail when the machine crashes.
	NoSync bool

	log   *slog.Logger
	sp    *spool
	now   func() time.Time
	stats struct{ sent, deferred, bounced, enqueued atomic.Int64 }

	mu      sync.Mutex
	msgs    map[string]*entry
	dests   map[string]*destination
	ready   []*destination // destinations with pending jobs, round robin
	running int
	// order lines up local deliveries per recipient by arrival
	// (order.go); dispatched numbers the jobs joining it.
	order      recipientOrder
	dispatched uint64
	wake       chan struct{}
	closed     bool
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	started    bool
}

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("queue: closed")

// Start opens the queue directory, recovers the messages in it
// (messages acknowledged before a crash are delivered after it) and
// starts delivery.
func (q *Queue) Start() error {
	if q.Dir == "" {
		return errors.New("queue: no Dir")
	}
	q.log = q.Logger
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.now == nil {
		q.now = time.Now
	}
	sp, msgs, err := openSpool(spoolOptions{Dir: q.Dir, Logger: q.log, NoSync: q.NoSync})
	if err != nil {
		return err
	}
	q.sp = sp
	q.msgs = map[string]*entry{}
	q.dests = map[string]*destination{}
	q.wake = make(chan struct{}, 1)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.started = true
	q.mu.Lock()
	for _, m := range msgs {
		q.msgs[m.env.ID] = &entry{m: m}
	}
	q.mu.Unlock()
	// The first scan starts the messages that were in delivery when the
	// queue last stopped, and the deferred ones that are due.
	q.wg.Add(1)
	go q.runDeferred()
	return nil
}

// Close stops delivery: no new deliveries start, those in progress are
// cancelled and waited for. Messages stay in the queue directory for
// the next Start.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed || !q.started {
		q.closed = true
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
	return q.sp.close()
}

// Enqueue stores a message durably and schedules its delivery. It
// returns the queue ID only after the message and its envelope are on
// disk (fsync); concurrent calls share their fsyncs (group commit). An
// error means the message was not queued: answer the client with a
// temporary failure. env is kept by the queue; do not change it after
// the call.
func (q *Queue) Enqueue(ctx context.Context, env *Envelope, body io.Reader) (string, error) {
	if len(env.Recipients) == 0 {
		return "", errors.New("queue: no recipients")
	}
	q.mu.Lock()
	closed := q.closed || !q.started
	q.mu.Unlock()
	if closed {
		return "", ErrClosed
	}
	for _, r := range env.Recipients {
		if r.Transport == "" && q.Router == nil {
			return "", fmt.Errorf("queue: recipient <%s> has no route and there is no Router", r.Addr)
		}
	}
	hr := newHopReader(body)
	m, err := q.sp.put(ctx, env, hr)
	if err != nil {
		return "", err
	}
	q.stats.enqueued.Add(1)
	where := "active"
	if m.queue == "hold" {
		where = "hold"
	}
	// As Postfix's cleanup logs the Message-ID field it saw ("<>"
	// without one).
	hr.endMessageID()
	mid := hr.messageID
	if mid == "" {
		mid = "<>"
	}
	q.log.Info(fmt.Sprintf("%s: message-id=%s", env.ID, strings.TrimSpace(mid)), "service", "cleanup")
	q.log.Info(fmt.Sprintf("%s: from=<%s>, size=%d, nrcpt=%d (queue %s)", env.ID, env.From, m.size, len(env.Recipients), where), "service", "qmgr")
	e := &entry{m: m, hops: max(env.Hops, hr.hops)}
	q.mu.Lock()
	q.msgs[env.ID] = e
	q.mu.Unlock()
	if m.queue != "hold" {
		q.activate(e)
	}
	return env.ID, nil
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	s := Stats{Messages: map[string]int{}, Bytes: map[string]int64{}}
	q.mu.Lock()
	for _, e := range q.msgs {
		e.spoolMu.Lock()
		name := e.listQueue()
		e.spoolMu.Unlock()
		s.Messages[name]++
		s.Bytes[name] += e.m.size
		if s.OldestArrival.IsZero() || e.m.env.Arrival.Before(s.OldestArrival) {
			s.OldestArrival = e.m.env.Arrival
		}
	}
	q.mu.Unlock()
	s.Sent, s.Deferred, s.Bounced, s.Enqueued = q.stats.sent.Load(), q.stats.deferred.Load(), q.stats.bounced.Load(), q.stats.enqueued.Load()
	return s
}

func (q *Queue) limit(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func dur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}
