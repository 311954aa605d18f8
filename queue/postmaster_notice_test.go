package queue

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// pmTransport records what it delivers (sender, recipient, content) and
// bounces or defers recipients by address.
type pmTransport struct {
	mu   sync.Mutex
	got  []pmMail
	fate func(addr string) Status
}

type pmMail struct{ from, to, body string }

func (p *pmTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	rc, err := d.Open()
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	res := make([]Result, len(d.Recipients))
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range d.Recipients {
		switch p.fate(r.Addr) {
		case Bounced:
			res[i] = Result{Status: Bounced, Code: 550, DSN: "5.1.1", Text: "host x said: 550 5.1.1 unknown", Remote: true}
		case Deferred:
			res[i] = Result{Status: Deferred, DSN: "4.4.1", Text: "connect to x: Connection refused"}
		default:
			res[i] = Result{Status: Sent, DSN: "2.0.0", Text: "ok", Relay: "test"}
			p.got = append(p.got, pmMail{d.Envelope.From, r.Addr, string(b)})
		}
	}
	return res
}

func (p *pmTransport) to(addr string) []pmMail {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pmMail
	for _, m := range p.got {
		if m.to == addr {
			out = append(out, m)
		}
	}
	return out
}

// TestQueuePostmasterNotices follows notify_classes through the queue:
// with "bounce" and "delay" the postmaster gets a headers-only copy of a
// bounce (also for a recipient with NOTIFY=NEVER, who gets none
// himself), a bounce that could not be delivered whole (2bounce, implied
// by bounce), and a copy of a delay warning, each from
// double-bounce@myhostname (a delayed bounce whole); an undeliverable
// postmaster notice is discarded with Postfix's warning. Without
// notify_classes nothing goes to the postmaster and a failed bounce is
// dropped.
func TestQueuePostmasterNotices(t *testing.T) {
	tr := &pmTransport{fate: func(addr string) Status {
		switch {
		case strings.HasPrefix(addr, "gone"):
			return Bounced
		case strings.HasPrefix(addr, "slow"):
			return Deferred
		}
		return Sent
	}}
	q, lb := newTestQueue(t, tr)
	q.NotifyClasses = []string{"bounce", "delay"}
	q.DoubleBounceNoticeRecipient = "pm2"
	q.DelayNoticeRecipient = "pmd@example.org"
	q.DelayWarning = time.Millisecond
	q.MaxLifetime = time.Hour

	enqueue(t, q, "sender@example.jp", "Subject: one\r\n\r\nbody one\r\n", "gone1@example.net")
	waitFor(t, "the postmaster's copy", func() bool { return len(tr.to("postmaster@mx.example.jp")) == 1 })
	pm := tr.to("postmaster@mx.example.jp")[0]
	if pm.from != "double-bounce@mx.example.jp" || !strings.Contains(pm.body, "\r\nSubject: Postmaster Copy: Undelivered Mail\r\n") ||
		!strings.Contains(pm.body, "Subject: one") || strings.Contains(pm.body, "body one") || strings.Contains(pm.body, "This is the mail system") {
		t.Errorf("postmaster copy from <%s>:\n%s", pm.from, pm.body)
	}
	waitFor(t, "the sender's notice", func() bool { return len(tr.to("sender@example.jp")) == 1 })

	// NOTIFY=NEVER: no notice to the sender, a copy to the postmaster.
	env := &Envelope{From: "never@example.jp", Recipients: []Recipient{{Addr: "gone2@example.net", Notify: "NEVER"}}}
	if _, err := q.Enqueue(context.Background(), env, strings.NewReader("Subject: two\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second copy", func() bool { return len(tr.to("postmaster@mx.example.jp")) == 2 })

	// A bounce that cannot be delivered goes whole to pm2.
	enqueue(t, q, "", "Subject: a bounce\r\n\r\nbounce body\r\n", "gone3@example.net")
	waitFor(t, "the double bounce", func() bool { return len(tr.to("pm2@mx.example.jp")) == 1 })
	if m := tr.to("pm2@mx.example.jp")[0]; m.from != "double-bounce@mx.example.jp" || !strings.Contains(m.body, "bounce body") ||
		!strings.Contains(m.body, "X-Postfix-Sender: rfc822; MAILER-DAEMON@mx.example.jp") {
		t.Errorf("double bounce from <%s>:\n%s", m.from, m.body)
	}

	// A postmaster notice that cannot be delivered is discarded.
	id := enqueue(t, q, "double-bounce@mx.example.jp", "Subject: pm\r\n\r\nx\r\n", "gone4@example.net")
	waitFor(t, "the discard warning", func() bool {
		return strings.Contains(lb.String(), id+": undeliverable postmaster notification discarded")
	})

	// A delay warning and its copy.
	enqueue(t, q, "waiting@example.jp", "Subject: slow\r\n\r\nslow body\r\n", "slow@example.net")
	waitFor(t, "the delay copy", func() bool { return len(tr.to("pmd@example.org")) == 1 })
	if m := tr.to("pmd@example.org")[0]; !strings.Contains(m.body, "\r\nSubject: Postmaster Warning: Delayed Mail\r\n") || strings.Contains(m.body, "slow body") {
		t.Errorf("delay copy:\n%s", m.body)
	}
	waitFor(t, "the sender's delay warning", func() bool { return len(tr.to("waiting@example.jp")) == 1 })
	// A delayed bounce: its copy to the postmaster has all of it.
	enqueue(t, q, "", "Subject: slow bounce\r\n\r\nslow bounce body\r\n", "slow2@example.net")
	waitFor(t, "the delayed bounce's copy", func() bool { return len(tr.to("pmd@example.org")) == 2 })
	if m := tr.to("pmd@example.org")[1]; !strings.Contains(m.body, "slow bounce body") || !strings.Contains(m.body, "Content-Type: message/rfc822") {
		t.Errorf("delayed bounce copy:\n%s", m.body)
	}
	for _, l := range []string{"postmaster non-delivery notification: ", "postmaster delay notification: "} {
		if !strings.Contains(lb.String(), l) {
			t.Errorf("no %q in the log", l)
		}
	}
	if n := len(tr.to("postmaster@mx.example.jp")); n != 2 {
		t.Errorf("%d copies to postmaster, want 2 (no copy of a copy)", n)
	}

	// Without notify_classes: nothing to the postmaster.
	tr2 := &pmTransport{fate: tr.fate}
	q2, _ := newTestQueue(t, tr2)
	enqueue(t, q2, "sender@example.jp", "Subject: one\r\n\r\nbody\r\n", "gone1@example.net")
	enqueue(t, q2, "", "Subject: b\r\n\r\nx\r\n", "gone3@example.net")
	waitFor(t, "the sender's notice", func() bool { return len(tr2.to("sender@example.jp")) == 1 })
	waitFor(t, "empty queue", func() bool { return len(q2.List()) == 0 })
	tr2.mu.Lock()
	defer tr2.mu.Unlock()
	if len(tr2.got) != 1 {
		t.Errorf("%d messages delivered, want only the sender's notice: %+v", len(tr2.got), tr2.got)
	}
}
