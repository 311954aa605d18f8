package queue

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/lmtp"
)

// savingDeliverer keeps each copy and names what it was saved into:
// "sdbox" for sam, "" (no answer) for the others.
type savingDeliverer struct {
	mu     sync.Mutex
	copies map[string]string
	plain  int // calls of Deliver
}

func (s *savingDeliverer) Rcpt(context.Context, *lmtp.Envelope, string) error { return nil }

func (s *savingDeliverer) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	s.mu.Lock()
	s.plain++
	s.mu.Unlock()
	_, err := s.DeliverSaved(ctx, env, rcpt, msg)
	return err
}

func (s *savingDeliverer) DeliverSaved(_ context.Context, _ *lmtp.Envelope, rcpt string, msg io.Reader) (string, error) {
	var b bytes.Buffer
	if _, err := io.Copy(&b, msg); err != nil { // through prefixread's WriteTo
		return "", err
	}
	s.mu.Lock()
	s.copies[rcpt] = b.String()
	s.mu.Unlock()
	if strings.HasPrefix(rcpt, "sam@") {
		return "sdbox", nil
	}
	return "", nil
}

// TestLocalTransportAsksSavingDeliverer: a SavingDeliverer's answer is
// the "delivered to" of the log line, SavedTo decides when it has none,
// Deliver is not called besides, and each copy is the delivery's own
// fields followed by the queued message, whole.
func TestLocalTransportAsksSavingDeliverer(t *testing.T) {
	d := &savingDeliverer{copies: map[string]string{}}
	tr := &LocalTransport{Deliverer: d, SavedTo: func(context.Context, string) string { return "mailbox" }}
	q, lb := newTestQueue(t, tr)
	body := "Subject: hi\r\n\r\n" + strings.Repeat("0123456789abcdef", 5000) + "\r\n"
	enqueue(t, q, "a@example.org", body, "sam@example.jp", "tom@example.jp")
	waitFor(t, "both lines", func() bool {
		s := lb.String()
		return strings.Contains(s, "to=<sam@example.jp>") && strings.Contains(s, "to=<tom@example.jp>")
	})
	log := lb.String()
	for _, want := range []string{"delivered to sdbox", "delivered to mailbox"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.plain != 0 {
		t.Errorf("Deliver called %d times besides DeliverSaved", d.plain)
	}
	for _, rcpt := range []string{"sam@example.jp", "tom@example.jp"} {
		want := "Return-Path: <a@example.org>\r\nDelivered-To: " + rcpt + "\r\n" + body
		if got := d.copies[rcpt]; got != want {
			t.Errorf("%s: copy of %d bytes, want %d", rcpt, len(got), len(want))
		}
	}
}
