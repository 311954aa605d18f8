package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yubinmail/yubin/smtp"
)

// The HOLD, REDIRECT and FILTER results of the restrictions
// (smtp.Envelope.Actions) on a host without a queue, as close to what
// Postfix's cleanup and queue manager do as that allows:
//
//   - HOLD keeps the message in data_directory/hold/<queue id> and
//     delivers nothing; the client gets 250 once the file is synced.
//     The file starts with "X-Yubin-Hold-From: <sender>" and one
//     "X-Yubin-Hold-To: <recipient>" line per recipient, then the
//     message. HOLD wins over the other two, as in Postfix (they would
//     apply on release).
//   - FILTER lmtp:<nexthop> or smtp:<nexthop> hands the whole message
//     with its envelope to that server, the way content_filter does, and
//     the client gets 250 only after the filter accepted it; other
//     transports get a temporary refusal.
//   - REDIRECT <address> delivers to that address instead of the
//     recipients (a local address; another domain would need the
//     outbound queue and gets a temporary refusal).

// hold writes the message to the hold directory, durably.
func (s *smtpSession) hold(env *smtp.Envelope, msg func() io.Reader) error {
	dir := filepath.Join(s.b.h.config().Get("data_directory"), "hold")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var hdr strings.Builder
	hdr.WriteString("X-Yubin-Hold-From: <" + env.From + ">\r\n")
	for _, r := range env.To {
		hdr.WriteString("X-Yubin-Hold-To: <" + r.Addr + ">\r\n")
	}
	f, err := os.CreateTemp(dir, ".tmp-"+env.QueueID+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = io.Copy(f, io.MultiReader(strings.NewReader(hdr.String()), msg()))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, env.QueueID))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	s.b.h.log.Info(fmt.Sprintf("%s: from=<%s>, nrcpt=%d (held in %s)", env.QueueID, env.From, len(env.To), filepath.Join(dir, env.QueueID)), "service", s.b.svc)
	return nil
}

// syncDir fsyncs a directory, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// filter hands the message to the FILTER destination.
func (s *smtpSession) filter(ctx context.Context, env *smtp.Envelope, filter string, msg func() io.Reader) error {
	start := time.Now()
	to := make([]string, len(env.To))
	for i, r := range env.To {
		to[i] = r.Addr
	}
	transport, nexthop, _ := strings.Cut(filter, ":")
	var err error
	switch transport {
	case "lmtp":
		err = errors.Join(s.b.h.deliverLMTP(ctx, nexthop, env.From, to, msg)...)
	case "smtp":
		err = s.b.h.sendSMTP(ctx, nexthop, env.From, to, msg())
	default:
		s.b.h.log.Warn(fmt.Sprintf("%s: FILTER %s: transport %q is not available on this host", env.QueueID, filter, transport), "service", s.b.svc)
		return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 5}, Message: "Error: content filter not available"}
	}
	status := "sent"
	if err != nil {
		status = "deferred"
	}
	s.b.h.log.Info(fmt.Sprintf("%s: to=<%s>, relay=%s, delay=%.2f, status=%s (filter)", env.QueueID, strings.Join(to, ">,<"), filter, time.Since(start).Seconds(), status), "service", s.b.svc)
	if err == nil {
		return nil
	}
	var se *smtp.Error
	if errors.As(err, &se) && se.Code >= 500 {
		return &smtp.Error{Code: se.Code, Enhanced: se.Enhanced, Message: "Error: refused by the content filter"}
	}
	return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "Error: content filter failed, try again later"}
}

// sendSMTP sends a message to nexthop ("[host]:port", "host:port",
// "host"; port 25 by default) with smtp.Client. MX records are not
// looked up: a FILTER names its host.
func (h *host) sendSMTP(ctx context.Context, nexthop, from string, to []string, msg io.Reader) error {
	hp := strings.TrimPrefix(nexthop, "inet:")
	host, port := hp, "25"
	if hh, p, err := net.SplitHostPort(hp); err == nil {
		host, port = hh, p
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return fmt.Errorf("smtp:%s: no host", nexthop)
	}
	cfg := h.config()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := smtp.Dial(dctx, net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(ctx, cfg.Get("myhostname")); err != nil {
		return err
	}
	if err := c.SendMail(ctx, from, to, msg); err != nil {
		return err
	}
	return c.Quit(ctx)
}
