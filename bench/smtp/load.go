package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/smtp"
)

// message returns a message of about size bytes.
func message(size int) string {
	var b strings.Builder
	b.WriteString("From: bench@example.org\r\nTo: bench@example.jp\r\nSubject: load test\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// sender sends one message on a fresh connection.
type sender func(ctx context.Context) error

// smtpSender sends with yubin's SMTP client (EHLO, pipelined MAIL/RCPT/
// DATA or BDAT, QUIT).
func smtpSender(addr, rcpt, msg string) sender {
	return smtpSenderTo(addr, func() string { return rcpt }, msg)
}

// rotating returns recipients user0..user(n-1)@domain in turn.
func rotating(n int, domain string) func() string {
	var i atomic.Int64
	return func() string { return fmt.Sprintf("u%d%s", i.Add(1)%int64(n), domain) }
}

// smtpSenderTo is smtpSender with a recipient chosen per message.
func smtpSenderTo(addr string, rcpt func() string, msg string) sender {
	return func(ctx context.Context) error {
		c, err := smtp.Dial(ctx, addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Hello(ctx, "load.example.org"); err != nil {
			return err
		}
		if err := c.SendMail(ctx, "bench@example.org", []string{rcpt()}, strings.NewReader(msg)); err != nil {
			return err
		}
		return c.Quit(ctx)
	}
}

// lmtpSender sends with yubin's LMTP client.
func lmtpSender(addr, rcpt, msg string) sender {
	return lmtpSenderTo(addr, func() string { return rcpt }, msg)
}

// lmtpSenderTo is lmtpSender with a recipient chosen per message.
func lmtpSenderTo(addr string, rcpt func() string, msg string) sender {
	return func(ctx context.Context) error {
		c, err := lmtp.Dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Hello(ctx, "load.example.org"); err != nil {
			return err
		}
		res, err := c.Send(ctx, "bench@example.org", []string{rcpt()}, strings.NewReader(msg))
		if err != nil {
			return err
		}
		if res[0] != nil {
			return res[0]
		}
		return c.Quit(ctx)
	}
}

// result of a load run.
type result struct {
	Sent    int
	Errors  int
	Elapsed time.Duration
	First   error
}

func (r result) rate() float64 { return float64(r.Sent) / r.Elapsed.Seconds() }

func (r result) String() string {
	return fmt.Sprintf("%d messages in %v (%.0f msg/s), %d errors", r.Sent, r.Elapsed.Round(time.Millisecond), r.rate(), r.Errors)
}

// run sends total messages with the given number of concurrent sessions.
func run(ctx context.Context, sessions, total int, send sender) result {
	var next, sent, errs atomic.Int64
	var firstMu sync.Mutex
	var first error
	start := time.Now()
	var wg sync.WaitGroup
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				if err := send(ctx); err != nil {
					errs.Add(1)
					firstMu.Lock()
					if first == nil {
						first = err
					}
					firstMu.Unlock()
					continue
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	return result{Sent: int(sent.Load()), Errors: int(errs.Load()), Elapsed: time.Since(start), First: first}
}
