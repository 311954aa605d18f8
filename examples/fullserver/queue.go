package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/restrict"
)

// queueDir is the queue directory (queue_directory).
func queueDir(c *config.Config) string { return c.Get("queue_directory") }

// newQueue builds the host's outbound queue: Postfix's cleanup, qmgr
// and delivery agents as master.cf names them (local, virtual, lmtp,
// smtp, relay, error, retry, discard, hold). Recipients are routed at
// each delivery attempt by the restrictions' resolver over main.cf's
// global settings (address classes, relayhost, transport_maps), so that
// "fullserver queue requeue" applies a changed transport_maps to mail
// already queued, as postsuper -r does.
func (h *host) newQueue(c *config.Config, deliver lmtp.Deliverer) (*queue.Queue, error) {
	pol, err := newPolicy(c, h.log)
	if err != nil {
		return nil, err
	}
	rt := &router{}
	rt.cur.Store(pol)
	h.reloader = append(h.reloader, func(c *config.Config) error {
		p, err := newPolicy(c, h.log)
		if err != nil {
			return err
		}
		rt.cur.Store(p)
		return nil
	})
	local := &queue.LocalTransport{Deliverer: deliver, Name: "local", MaxHeaderBytes: int(c.Int("header_size_limit")), SavedTo: savedTo(c, deliver)}
	virtual := &queue.LocalTransport{Deliverer: deliver, Name: "virtual", MaxHeaderBytes: int(c.Int("header_size_limit")), SavedTo: savedTo(c, deliver)}
	q := &queue.Queue{
		Dir:      queueDir(c),
		Hostname: c.Get("myhostname"),
		Router:   rt,
		Logger:   daemonLogger(h.log),
		Transports: map[string]queue.Transport{
			"local":   local,
			"virtual": virtual,
			"lmtp": &queue.LMTPTransport{
				Hostname:                    c.Get("myhostname"),
				BaseDir:                     c.Get("data_directory"),
				ConnectTimeout:              c.Duration("lmtp_connect_timeout"),
				Timeout:                     c.Duration("lmtp_data_done_timeout"),
				DisableMIMEOutputConversion: c.Bool("disable_mime_output_conversion"),
			},
			"error":   queue.ErrorTransport{},
			"retry":   queue.ErrorTransport{Defer: true},
			"discard": queue.DiscardTransport{},
			"hold":    queue.HoldTransport{},
		},
		ProcessLimit:                  int(c.Int("default_process_limit")),
		DestinationConcurrency:        int(c.Int("default_destination_concurrency_limit")),
		InitialDestinationConcurrency: int(c.Int("initial_destination_concurrency")),
		DestinationRecipientLimit:     int(c.Int("default_destination_recipient_limit")),
		MinBackoff:                    c.Duration("minimal_backoff_time"),
		MaxBackoff:                    c.Duration("maximal_backoff_time"),
		RunDelay:                      c.Duration("queue_run_delay"),
		MaxLifetime:                   c.Duration("maximal_queue_lifetime"),
		BounceLifetime:                c.Duration("bounce_queue_lifetime"),
		DelayWarning:                  c.Duration("delay_warning_time"),
		HopcountLimit:                 int(c.Int("hopcount_limit")),
		BounceSizeLimit:               int(c.Int("bounce_size_limit")),
		NotifyClasses:                 c.List("notify_classes"),
		BounceNoticeRecipient:         c.Get("bounce_notice_recipient"),
		DoubleBounceNoticeRecipient:   c.Get("2bounce_notice_recipient"),
		DelayNoticeRecipient:          c.Get("delay_notice_recipient"),
		DoubleBounceSender:            c.Get("double_bounce_sender"),
		OnResult: func(transport string, r queue.Result, _ time.Duration) {
			h.m.deliveryCounter(transport, r.Status.String()).Inc()
		},
	}
	if err := h.addSMTPTransports(q, c); err != nil {
		return nil, err
	}
	if q.SignNotice, err = noticeSigner(c, h.log); err != nil { // noticesign.go
		return nil, err
	}
	return q, nil
}

// router routes queued recipients with the current restrictions'
// resolver (SIGHUP swaps it).
type router struct {
	cur atomic.Pointer[restrict.Policy]
}

// Route implements queue.Router. The address is a final one (aliases
// were expanded when the message was accepted); its own target gives
// the route.
func (r *router) Route(ctx context.Context, addr string) (string, string, error) {
	d, err := r.cur.Load().Resolve(ctx, addr)
	if err != nil {
		return "", "", err
	}
	for _, t := range d.Targets {
		if strings.EqualFold(t.Address, addr) {
			return transportName(t), t.Nexthop, nil
		}
	}
	if len(d.Targets) > 0 {
		t := d.Targets[0]
		return transportName(t), t.Nexthop, nil
	}
	return "", "", errors.New("no route")
}

// transportName is the queue transport of a resolved target: Postfix's
// local and virtual delivery agents are this host's store delivery.
func transportName(t restrict.Target) string {
	if t.Transport == "" {
		return "local"
	}
	return t.Transport
}

// checkTransport is the configuration check of mailbox_transport,
// local_transport and virtual_transport: what this host can deliver with.
func checkTransport(v string) error {
	t, next, _ := strings.Cut(strings.TrimSpace(v), ":")
	switch t {
	case "", "local", "virtual", "error", "retry", "discard", "hold", "smtp", "relay":
		return nil
	case "lmtp":
		_, _, err := lmtp.ParseNexthop(next, "/")
		return err
	}
	return fmt.Errorf("transport %q is not supported (want local, virtual, lmtp:unix:/path, lmtp:inet:host:port, smtp:, relay:, error:, retry:, discard: or hold)", t)
}

// queueSocket is the control socket of the running server's queue.
func queueSocket(c *config.Config) string { return filepath.Join(queueDir(c), "control") }
