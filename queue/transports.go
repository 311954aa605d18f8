package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/prefixread"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/store"
)

// LocalTransport delivers into local mailboxes through an
// lmtp.Deliverer (lmtp.StoreDeliverer saves into users' stores), as
// Postfix's local and virtual agents do: each copy starts with
// Return-Path and Delivered-To headers, and a message that already
// carries "Delivered-To: <recipient>" bounces as a mail forwarding loop.
//
// When the Deliverer also implements store.DeliverySyncer (an
// lmtp.StoreDeliverer with NoSync), its copies are written without
// fsync and made durable by one SyncDeliveries per delivery, shared by
// every delivery running at that moment, before any recipient counts as
// delivered: the queue keeps its own synced copy until then, so a crash
// in between delivers the message again rather than losing it.
type LocalTransport struct {
	// Deliverer saves one copy for one recipient.
	Deliverer lmtp.Deliverer
	// Name is the relay= of the log lines: "local" (the default) or
	// "virtual".
	Name string
	// MaxHeaderBytes bounds the header read for the loop check
	// (header_size_limit, 102400).
	MaxHeaderBytes int
	// SavedTo names what a recipient's copy was saved into, for the
	// log line's "delivered to ...": Postfix's local(8) says "maildir"
	// or "mailbox" (an mbox file); "sdbox" for Dovecot's single-dbox.
	// Nil means "maildir" for every recipient.
	SavedTo func(ctx context.Context, rcpt string) string
}

// ordersRecipients tells the queue to hand each recipient its mail in
// arrival order, so that a mailbox numbers it in that order (order.go).
func (t *LocalTransport) ordersRecipients() bool { return true }

// Deliver implements Transport.
func (t *LocalTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	res := make([]Result, len(d.Recipients))
	relay := t.Name
	if relay == "" {
		relay = "local"
	}
	loops, err := t.deliveredTo(d)
	if err != nil {
		for i := range res {
			res[i] = localError(relay, err, d)
		}
		return res
	}
	env := d.Envelope
	defer d.endTurns()
	for i, r := range d.Recipients {
		start := time.Now()
		if loops.Delivered(r.Addr) {
			d.endTurn(i)
			res[i] = Result{Status: Bounced, DSN: "5.4.6", Text: "mail forwarding loop for " + r.Addr, Relay: relay}
			continue
		}
		rc, err := d.Open()
		if err != nil {
			d.endTurn(i)
			res[i] = localError(relay, err, d)
			continue
		}
		hdr := "Return-Path: <" + env.From + ">\r\nDelivered-To: " + r.Addr + "\r\n"
		lenv := &lmtp.Envelope{ID: env.ID, From: env.From, To: []string{r.Addr}, UTF8: env.UTF8, Body: env.Body, Size: d.Size, Helo: env.Client.Helo, Received: env.Arrival}
		d.waitTurn(ctx, i)
		content := prefixread.New(hdr, rc) // no 32 KiB buffer per copy
		saved := ""
		if sd, ok := t.Deliverer.(SavingDeliverer); ok {
			saved, err = sd.DeliverSaved(ctx, lenv, r.Addr, content)
		} else {
			err = t.Deliverer.Deliver(ctx, lenv, r.Addr, content)
		}
		d.endTurn(i)
		rc.Close()
		if err != nil {
			res[i] = localError(relay, err, d)
			continue
		}
		if saved == "" {
			saved = t.savedTo(ctx, r.Addr)
		}
		res[i] = Result{Status: Sent, DSN: "2.0.0", Text: "delivered to " + saved, Relay: relay, Xfer: time.Since(start)}
	}
	sent := false
	for _, r := range res {
		sent = sent || r.Status == Sent
	}
	if s, ok := t.Deliverer.(store.DeliverySyncer); ok && sent {
		if err := s.SyncDeliveries(ctx); err != nil {
			for i := range res {
				if res[i].Status == Sent {
					res[i] = localError(relay, err, d)
				}
			}
		}
	}
	return res
}

// savedTo is the "delivered to" of rcpt's log line.
func (t *LocalTransport) savedTo(ctx context.Context, rcpt string) string {
	if t.SavedTo != nil {
		if s := t.SavedTo(ctx, rcpt); s != "" {
			return s
		}
	}
	return "maildir"
}

// deliveredTo reads the message header for its Delivered-To fields.
func (t *LocalTransport) deliveredTo(d *Delivery) (*HeaderInfo, error) {
	rc, err := d.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ScanHeaders(rc, t.MaxHeaderBytes)
}

// localError turns a deliverer's error into a result: its own reply
// code when it has one (5xx bounces), else a temporary failure whose
// text names no internals (the Go error is logged).
func localError(relay string, err error, d *Delivery) Result {
	var le *lmtp.Error
	if errors.As(err, &le) && le.Code >= 400 && le.Code < 600 {
		st := Deferred
		if le.Code >= 500 {
			st = Bounced
		}
		return Result{Status: st, Code: le.Code, DSN: le.Enhanced.String(), Text: le.Message, Relay: relay}
	}
	if d.Logger != nil {
		d.Logger.Warn(fmt.Sprintf("%s: local delivery: %v", d.Envelope.ID, err), "service", relay)
	}
	return Result{Status: Deferred, DSN: "4.3.0", Text: "temporary failure", Relay: relay}
}

// LMTPTransport hands mail to an LMTP server (Dovecot's, or yubin's
// lmtp.Server), one transaction per delivery with a reply per
// recipient: Postfix's lmtp(8). The nexthop is "unix:/path",
// "inet:host:port" or "host:port" (lmtp.ParseNexthop).
type LMTPTransport struct {
	// Hostname is the LHLO name.
	Hostname string
	// BaseDir resolves relative unix socket paths
	// ("unix:private/dovecot-lmtp").
	BaseDir string
	// ConnectTimeout bounds the connection and greeting
	// (lmtp_connect_timeout; 0: 30s).
	ConnectTimeout time.Duration
	// Timeout bounds each reply, the final ones after the message
	// included (lmtp_data_done_timeout; 0: 600s).
	Timeout time.Duration
	// DisableMIMEOutputConversion is disable_mime_output_conversion:
	// 8-bit mail goes as it is to a server that does not announce
	// 8BITMIME instead of converted to 7bit as Postfix's lmtp converts
	// it (mime_downgrade.go).
	DisableMIMEOutputConversion bool
}

// Deliver implements Transport.
func (t *LMTPTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	res := make([]Result, len(d.Recipients))
	all := func(r Result) []Result {
		for i := range res {
			res[i] = r
		}
		return res
	}
	network, addr, err := lmtp.ParseNexthop(d.Nexthop, t.BaseDir)
	if err != nil {
		return all(Result{Status: Deferred, DSN: "4.3.5", Text: "mail system configuration error: " + err.Error(), Relay: "none"})
	}
	// relay= as Postfix's lmtp logs it: name[socket] or name[ip]:port,
	// the name from the server's greeting once it has greeted.
	host, port := addr, ""
	if network != "unix" {
		if h, p, err := splitHostPort(addr); err == nil {
			host, port = h, p
		}
	}
	relayOf := func(name string) string {
		if port == "" {
			return name + "[" + host + "]"
		}
		return name + "[" + host + "]:" + port
	}
	relay := relayOf(host)
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, dur(t.ConnectTimeout, 30*time.Second))
	c, err := lmtp.Dial(dctx, network, addr)
	cancel()
	if err != nil {
		return all(Result{Status: Deferred, DSN: "4.4.1", Text: "connect to " + relay + ": " + connErrText(err), Relay: relay})
	}
	defer c.Close()
	c.Timeout = dur(t.Timeout, 600*time.Second)
	helo := t.Hostname
	if helo == "" {
		helo = "localhost"
	}
	if g := strings.Fields(c.Greeting); len(g) > 0 {
		relay = relayOf(g[0])
	}
	if err := c.Hello(ctx, helo); err != nil {
		return all(replyResult(err, relay, "LHLO"))
	}
	conn := time.Since(start)
	rc, err := d.Open()
	if err != nil {
		return all(Result{Status: Deferred, DSN: "4.3.0", Text: "queue file read error", Relay: relay})
	}
	env := d.Envelope
	var body io.ReadCloser = rc
	if _, has8 := c.Extension("8BITMIME"); !has8 {
		// No BODY= to a server without 8BITMIME; the content is
		// converted to 7bit unless that is disabled (smtp_downgrade.go).
		if needDowngrade(t.DisableMIMEOutputConversion, false, env.Body) {
			body = downgradeReader(rc)
		}
	}
	defer body.Close()
	to := make([]lmtp.Recipient, len(d.Recipients))
	for i, r := range d.Recipients {
		to[i] = lmtp.Recipient{Addr: r.Addr, Opts: lmtp.RcptOptions{Notify: r.Notify, ORcpt: r.ORcpt}}
	}
	opts := &lmtp.MailOptions{Size: d.Size, Body: env.Body, UTF8: env.UTF8, Ret: env.Ret, EnvID: env.EnvID}
	if _, has8 := c.Extension("8BITMIME"); !has8 && strings.EqualFold(env.Body, "8BITMIME") {
		opts.Body = ""
	}
	if body != rc {
		opts.Size = 0 // as Postfix: no SIZE= when converting
	}
	_, dsn := c.Extension("DSN")
	xstart := time.Now()
	sr, err := c.SendOpts(ctx, env.From, to, opts, body)
	xfer := time.Since(xstart)
	if sr == nil {
		r := replyResult(err, relay, "MAIL FROM")
		r.Conn, r.Xfer = conn, xfer
		return all(r)
	}
	for i := range res {
		e := sr.Rcpt[i]
		if e == nil && err != nil {
			e = err
		}
		if e == nil {
			text := "250 2.0.0 Ok"
			if i < len(sr.Replies) && sr.Replies[i] != nil {
				rep := sr.Replies[i]
				text = strings.TrimSpace(fmt.Sprintf("%d %s %s", rep.Code, rep.Enhanced, strings.Join(rep.Lines, " ")))
			}
			res[i] = Result{Status: Sent, Code: 250, DSN: "2.0.0", Text: text, Relay: relay, Remote: true, DSNPassed: dsn}
		} else {
			res[i] = replyResult(e, relay, "end of data")
		}
		res[i].Conn, res[i].Xfer = conn, xfer
	}
	c.Quit(ctx)
	return res
}

// replyResult turns a client error into a result: a server reply keeps
// its code and text ("host said: 550 5.1.1 ..."), other errors are
// temporary.
func replyResult(err error, relay, after string) Result {
	var le *lmtp.Error
	if errors.As(err, &le) {
		st := Deferred
		if le.Code >= 500 {
			st = Bounced
		}
		text := strings.TrimSpace(fmt.Sprintf("%d %s %s", le.Code, le.Enhanced.String(), strings.ReplaceAll(le.Message, "\n", " ")))
		return Result{Status: st, Code: le.Code, DSN: le.Enhanced.String(), Text: "host " + relay + " said: " + text + " (in reply to " + after + " command)", Relay: relay, Remote: true}
	}
	var fe *lmtp.FieldError
	if errors.As(err, &fe) {
		return Result{Status: Bounced, DSN: "5.1.3", Text: "bad address syntax", Relay: relay}
	}
	return Result{Status: Deferred, DSN: "4.4.2", Text: "lost connection with " + relay + " while talking to it", Relay: relay}
}

// ErrorTransport bounces every recipient with the nexthop as the reason,
// as Postfix's error(8) does ("error:5.1.1 User unknown"). Its Defer
// variant is Postfix's retry(8): a temporary failure instead.
type ErrorTransport struct {
	// Defer makes the failure temporary (4.x.x).
	Defer bool
}

// Deliver implements Transport.
func (t ErrorTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	st, dsn := Bounced, "5.0.0"
	if t.Defer {
		st, dsn = Deferred, "4.0.0"
	}
	text := strings.TrimSpace(d.Nexthop)
	if f := strings.Fields(text); len(f) > 0 && isDSN(f[0]) && f[0][0] == dsn[0] {
		dsn = f[0]
		text = strings.TrimSpace(strings.TrimPrefix(text, f[0]))
	}
	if text == "" {
		text = "mail delivery failed"
	}
	res := make([]Result, len(d.Recipients))
	for i := range res {
		res[i] = Result{Status: st, DSN: dsn, Text: text, Relay: "none"}
	}
	return res
}

// isDSN reports whether s looks like an enhanced status code (5.1.1).
func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// DiscardTransport accepts and drops mail, as Postfix's discard(8): each
// recipient counts as sent, with the nexthop as the text.
type DiscardTransport struct{}

// Deliver implements Transport.
func (DiscardTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	text := strings.TrimSpace(d.Nexthop)
	if text == "" {
		text = "discarded"
	}
	res := make([]Result, len(d.Recipients))
	for i := range res {
		res[i] = Result{Status: Sent, DSN: "2.0.0", Text: text, Relay: "none"}
	}
	return res
}

// HoldTransport moves the message to the hold queue (what Postfix's HOLD
// action does, as a route).
type HoldTransport struct{}

// Deliver implements Transport.
func (HoldTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	res := make([]Result, len(d.Recipients))
	for i := range res {
		res[i] = Result{Status: Held, Text: "held", Relay: "none"}
	}
	return res
}
