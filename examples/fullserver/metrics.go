package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/yubinmail/yubin/queue"
)

// watchQueue adds gauges that read the queue's counters when scraped:
// messages and bytes per queue (active, deferred, hold, incoming) and
// the age of the oldest message, as qshape and mailq show them.
func (m *metrics) watchQueue(q *queue.Queue) {
	stats := func() queue.Stats { return q.Stats() }
	for _, name := range []string{"active", "deferred", "hold", "incoming"} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yubin_queue_messages", Help: "Messages in the outbound queue, by queue.", ConstLabels: prometheus.Labels{"queue": name},
		}, func() float64 { return float64(stats().Messages[name]) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yubin_queue_bytes", Help: "Bytes of message content in the outbound queue, by queue.", ConstLabels: prometheus.Labels{"queue": name},
		}, func() float64 { return float64(stats().Bytes[name]) }))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "yubin_queue_oldest_age_seconds", Help: "Age of the oldest message in the outbound queue (0 when empty).",
	}, func() float64 {
		if t := stats().OldestArrival; !t.IsZero() {
			return time.Since(t).Seconds()
		}
		return 0
	}))
}

// metrics are the host's Prometheus collectors. They live in their own
// registry, not the global one, so that tests and embedders can run more
// than one host in a process.
type metrics struct {
	reg          *prometheus.Registry
	connections  *prometheus.CounterVec
	active       *prometheus.GaugeVec
	commands     *prometheus.CounterVec
	commandTime  *prometheus.HistogramVec
	deliveries   *prometheus.CounterVec
	deliveryTime *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	authTime     *prometheus.HistogramVec
	decisions    *prometheus.CounterVec
	policyTime   *prometheus.HistogramVec

	commandCounters  counterCache // commands' children
	deliveryCounters counterCache // deliveries' children
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yubin_sessions_total", Help: "Client connections accepted, by service.",
		}, []string{"service"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "yubin_sessions_active", Help: "Client connections open now, by service.",
		}, []string{"service"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yubin_commands_total", Help: "Client commands, by service, command and status (ok, failed); SMTP's counted when the session ends, IMAP's, POP3's and LMTP's as each is answered.",
		}, []string{"service", "command", "status"}),
		commandTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "yubin_command_duration_seconds", Help: "Time from an IMAP, POP3 or LMTP command to its reply, by service and command.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"service", "command"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yubin_deliveries_total", Help: "Deliveries into mailboxes, by service and status (sent, deferred, bounced).",
		}, []string{"service", "status"}),
		deliveryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "yubin_delivery_duration_seconds", Help: "Time to deliver one message to all its local recipients.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"service"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yubin_auth_failures_total", Help: "Failed authentications, by service.",
		}, []string{"service"}),
		authTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "yubin_auth_duration_seconds", Help: "Time to verify a password (failure delay included).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"service"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yubin_restriction_decisions_total", Help: "SMTP restriction decisions other than no decision, by stage and action.",
		}, []string{"stage", "action"}),
		policyTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "yubin_restriction_duration_seconds", Help: "Time to evaluate the restrictions of one stage.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"stage"}),
	}
	m.reg.MustRegister(m.connections, m.active, m.commands, m.commandTime, m.deliveries, m.deliveryTime, m.authFailures, m.authTime, m.decisions, m.policyTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// countingListener counts the connections of one service.
type countingListener struct {
	net.Listener
	total  prometheus.Counter // yubin_sessions_total of the service
	active prometheus.Gauge   // yubin_sessions_active of the service
}

// newCountingListener counts l's connections as service's.
func newCountingListener(l net.Listener, service string, m *metrics) *countingListener {
	return &countingListener{Listener: l, total: m.connections.WithLabelValues(service), active: m.active.WithLabelValues(service)}
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.total.Inc()
	l.active.Inc()
	return &countedConn{Conn: c, gauge: l.active}, nil
}

type countedConn struct {
	net.Conn
	gauge  prometheus.Gauge
	closed bool
}

// PassThrough returns the connection countedConn wraps: it changes
// nothing in what is read or written (pop3.PassThroughConn), so a POP3
// session may use the socket directly.
func (c *countedConn) PassThrough() net.Conn { return c.Conn }

func (c *countedConn) Close() error {
	if !c.closed {
		c.closed = true
		c.gauge.Dec()
	}
	return c.Conn.Close()
}

// metricsServer serves /metrics on l until ctx ends.
func serveMetrics(ctx context.Context, l net.Listener, m *metrics, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics listener: " + err.Error())
	}
}

// commandCounter returns yubin_commands_total{service,command,status}.
func (m *metrics) commandCounter(service, command, status string) prometheus.Counter {
	return m.commandCounters.get(m.commands, service, command, status)
}

// deliveryCounter returns yubin_deliveries_total{service,status}.
func (m *metrics) deliveryCounter(service, status string) prometheus.Counter {
	return m.deliveryCounters.get(m.deliveries, service, status)
}

// counterCache remembers a CounterVec's children by their label values:
// every SMTP session counts five or more commands as it ends and every
// queued message a delivery, and a label lookup hashes and locks each
// time. The label values come from fixed sets (services, command names,
// statuses), so the cache stays small.
type counterCache struct{ m sync.Map }

func (c *counterCache) get(vec *prometheus.CounterVec, labels ...string) prometheus.Counter {
	key := strings.Join(labels, "\x00")
	if v, ok := c.m.Load(key); ok {
		return v.(prometheus.Counter)
	}
	ctr := vec.WithLabelValues(labels...)
	c.m.Store(key, ctr)
	return ctr
}

// commandHook is the CommandHook of an SMTP, IMAP, POP3 or LMTP server of
// service: it counts each command into yubin_commands_total and
// yubin_command_duration_seconds. Command names are lower-cased to match
// the SMTP ones ("login", "uid fetch"); the servers bound them to the
// commands they know, so the label set stays small.
func (m *metrics) commandHook(service string) func(name string, ok bool, took time.Duration) {
	cache := &commandMetricsCache{m: m, service: service} // commandmetrics.go
	return func(name string, ok bool, took time.Duration) {
		cm := cache.get(name, ok)
		cm.count.Inc()
		cm.took.Observe(took.Seconds())
	}
}
