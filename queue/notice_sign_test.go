package queue

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSignNoticeBounce: a bounce the queue writes passes through
// SignNotice and is queued with the fields it returns on top; a failing
// SignNotice leaves the bounce unsigned, and logged.
func TestSignNoticeBounce(t *testing.T) {
	for _, fail := range []bool{false, true} {
		tr := newScript(func(addr string, _ int) Result {
			if strings.HasPrefix(addr, "gone@") {
				return Result{Status: Bounced, DSN: "5.1.1", Text: "550 5.1.1 no such user"}
			}
			return sent(addr, 0)
		})
		q, lb := newTestQueue(t, tr)
		var got []string
		q.SignNotice = func(ctx context.Context, msg []byte) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("SignNotice without a deadline")
			}
			got = append(got, string(msg))
			if fail {
				return "", errors.New("no key")
			}
			return "DKIM-Signature: v=1; d=example.jp\r\n", nil
		}
		enqueue(t, q, "alice@example.jp", "Subject: x\r\n\r\nhello\r\n", "gone@example.net")
		waitFor(t, "the bounce to alice", func() bool { _, n := tr.count("alice@example.jp"); return n == 1 })
		tr.mu.Lock()
		bounce := tr.bodies["alice@example.jp"][0]
		tr.mu.Unlock()
		if len(got) != 1 || !strings.Contains(got[0], "From: Mail Delivery System <MAILER-DAEMON@mx.example.jp>") {
			t.Fatalf("SignNotice saw %q", got)
		}
		signed := strings.HasPrefix(bounce, "DKIM-Signature: v=1; d=example.jp\r\n")
		if signed == fail || !strings.Contains(bounce, got[0][:200]) {
			t.Fatalf("fail=%v: bounce:\n%s", fail, bounce)
		}
		if fail && !strings.Contains(lb.String(), "notice not signed: no key") {
			t.Errorf("log:\n%s", lb.String())
		}
	}
}
