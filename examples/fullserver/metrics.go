package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the host's Prometheus collectors. They live in their own
// registry, not the global one, so that tests and embedders can run more
// than one host in a process.
type metrics struct {
	reg          *prometheus.Registry
	connections  *prometheus.CounterVec
	active       *prometheus.GaugeVec
	deliveries   *prometheus.CounterVec
	deliveryTime *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	authTime     *prometheus.HistogramVec
	decisions    *prometheus.CounterVec
	policyTime   *prometheus.HistogramVec
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
	m.reg.MustRegister(m.connections, m.active, m.deliveries, m.deliveryTime, m.authFailures, m.authTime, m.decisions, m.policyTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// countingListener counts the connections of one service.
type countingListener struct {
	net.Listener
	service string
	m       *metrics
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.m.connections.WithLabelValues(l.service).Inc()
	g := l.m.active.WithLabelValues(l.service)
	g.Inc()
	return &countedConn{Conn: c, gauge: g}, nil
}

type countedConn struct {
	net.Conn
	gauge  prometheus.Gauge
	closed bool
}

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
