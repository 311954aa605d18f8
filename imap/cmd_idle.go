package imap

import (
	"math/rand/v2"
	"strings"
	"time"
)

// IDLE (RFC 2177, RFC 9051 6.3.13). Changes are sent as the store
// signals them through Mailbox.Notify (and, as a safety net, on a poll
// timer); "* OK Still here" goes out every IdleNotifyInterval so NAT
// boxes keep the connection, as Dovecot's imap_idle_notify_interval.
func (c *conn) cmdIdle(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.w.str("+ idling\r\n")
	if c.sel != nil && !c.sendUpdates() {
		return errLogout
	}
	c.lookNotify(true)
	if err := c.w.flush(); err != nil {
		return err
	}
	c.nc.SetReadDeadline(time.Now().Add(durOr(c.srv.AutologoutTimeout, DefaultAutologoutTimeout)))
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c.r.startLine()
		line, err := c.r.atomFunc(func(b byte) bool { return b != '\r' && b != '\n' }, "DONE")
		if err == nil {
			err = c.r.crlf()
		}
		done <- result{line, err}
	}()
	keepalive := time.NewTicker(durOr(c.srv.IdleNotifyInterval, DefaultIdleNotifyInterval))
	defer keepalive.Stop()
	// The safety poll is spread over ±25% of the interval: thousands of
	// sessions that entered IDLE together must not all take the
	// mailbox's lock in the same instant, every interval.
	poll := time.NewTimer(jitter(c.pollInterval()))
	defer poll.Stop()
	// NOTIFY's other mailboxes are looked at on their own timer.
	var others <-chan time.Time
	if c.notify.watchesOthers() {
		t := time.NewTicker(durOr(c.srv.NotifyPollInterval, DefaultNotifyPollInterval))
		defer t.Stop()
		others = t.C
	}
	var notify <-chan struct{}
	if c.sel != nil {
		notify = c.sel.mb.Notify()
	}
	for {
		select {
		case res := <-done:
			if res.err != nil {
				if c.fatal(res.err) {
					return res.err
				}
				return badf("Expected DONE.")
			}
			if !strings.EqualFold(res.line, "DONE") {
				return badf("Expected DONE.")
			}
			c.okText = "Idle completed."
			return nil
		case <-notify:
			if !c.sendUpdates() {
				return errLogout
			}
		case <-poll.C:
			if c.sel != nil && !c.sendUpdates() {
				return errLogout
			}
			poll.Reset(jitter(c.pollInterval()))
		case <-others:
			c.lookNotify(true)
		case <-c.alertCh:
			c.writeAlerts()
		case <-keepalive.C:
			c.w.str("* OK Still here\r\n")
		case <-c.stopCh:
			c.bye("Server shutting down.")
			return errLogout
		}
		if err := c.w.flush(); err != nil {
			return err
		}
	}
}

// jitter returns d moved by a random amount within ±25%.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}
