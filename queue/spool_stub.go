package queue

// TEMPORARY stand-in for the spool, until the real one lands.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

type spoolOptions struct {
	Dir          string
	Logger       *slog.Logger
	SegmentBytes int64
	NoSync       bool
}

type qmsg struct {
	env    *Envelope
	done   []bool
	reason []string
	queue  string
	size   int64
	next   time.Time
	warned bool
	body   []byte
}

type spool struct {
	mu  sync.Mutex
	n   atomic.Int64
	all map[string]*qmsg
}

var stubSpools sync.Map

func openSpool(o spoolOptions) (*spool, []*qmsg, error) {
	v, _ := stubSpools.LoadOrStore(o.Dir, &spool{all: map[string]*qmsg{}})
	s := v.(*spool)
	var out []*qmsg
	for _, m := range s.all {
		out = append(out, m)
	}
	return s, out, nil
}

func (s *spool) put(ctx context.Context, env *Envelope, body io.Reader) (*qmsg, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if env.ID == "" {
		env.ID = fmt.Sprintf("%X", s.n.Add(1)+0x1000)
	}
	if env.Arrival.IsZero() {
		env.Arrival = time.Now()
	}
	m := &qmsg{env: env, done: make([]bool, len(env.Recipients)), reason: make([]string, len(env.Recipients)), queue: "incoming", size: int64(len(b)), body: b}
	if env.Hold {
		m.queue = "hold"
	}
	s.mu.Lock()
	s.all[env.ID] = m
	s.mu.Unlock()
	return m, nil
}

func (s *spool) open(m *qmsg) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m.body)), nil }
func (s *spool) record(m *qmsg, idx int, st Status, reason string) error {
	if st == Sent || st == Bounced {
		m.done[idx] = true
	} else {
		m.reason[idx] = reason
	}
	return nil
}
func (s *spool) deferTo(m *qmsg, next time.Time) error { m.queue, m.next = "deferred", next; return nil }
func (s *spool) markWarned(m *qmsg) error             { m.warned = true; return nil }
func (s *spool) move(m *qmsg, queue string) error {
	m.queue = queue
	if queue == "deferred" {
		m.next = time.Now()
	}
	return nil
}
func (s *spool) remove(m *qmsg) error {
	s.mu.Lock()
	delete(s.all, m.env.ID)
	s.mu.Unlock()
	return nil
}
func (s *spool) close() error { return nil }
