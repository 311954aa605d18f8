package queue

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/lmtp"
)

// slowFirst is an lmtp.Deliverer that takes longer over earlier messages
// ("Subject: n", slower the smaller n) and records, per recipient, the
// order in which it saved them.
type slowFirst struct {
	mu    sync.Mutex
	saved map[string][]int
	total int
}

var subjectNumber = regexp.MustCompile(`Subject: (\d+)`)

func (s *slowFirst) Rcpt(context.Context, *lmtp.Envelope, string) error { return nil }

func (s *slowFirst) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(subjectNumber.FindStringSubmatch(string(b))[1])
	time.Sleep(time.Duration(40-n) * time.Millisecond / 4)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saved[rcpt] = append(s.saved[rcpt], n)
	s.total++
	return nil
}

// TestLocalTransportSavesInArrivalOrder: messages queued one after
// another for the same recipients, delivered in parallel by a deliverer
// that is slower the earlier the message, are still saved for each
// recipient in the order they arrived; recipients do not wait for each
// other.
func TestLocalTransportSavesInArrivalOrder(t *testing.T) {
	d := &slowFirst{saved: map[string][]int{}}
	q, _ := newTestQueue(t, &LocalTransport{Deliverer: d})
	rcpts := []string{"bob@example.jp", "carol@example.jp"}
	for n := 0; n < 40; n++ {
		enqueue(t, q, "a@example.org", fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", n), rcpts[n%2], "dave@example.jp")
	}
	waitFor(t, "all deliveries", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.total == 80
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	for rcpt, order := range d.saved {
		for i := 1; i < len(order); i++ {
			if order[i] < order[i-1] {
				t.Errorf("%s: saved in the order %v", rcpt, order)
				break
			}
		}
	}
}
