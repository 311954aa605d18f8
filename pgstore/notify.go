package pgstore

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the LISTEN/NOTIFY channel every change is announced
// on, with the payload "MAILBOXID:ORIGIN" (ORIGIN is the handle that made
// the change, 0 for none).
const notifyChannel = "pgstore_changes"

// hub holds one LISTEN connection per Backend and signals the open
// handles of the mailboxes named by notifications.
type hub struct {
	cfg *pgx.ConnConfig
	log *slog.Logger

	mu      sync.Mutex
	watched map[int64]map[*Mailbox]struct{}
	ready   chan struct{} // closed once LISTEN first succeeded
	once    sync.Once
}

func newHub(cfg *pgx.ConnConfig, log *slog.Logger) *hub {
	return &hub{cfg: cfg.Copy(), log: log, watched: map[int64]map[*Mailbox]struct{}{}, ready: make(chan struct{})}
}

func (h *hub) add(m *Mailbox) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watched[m.id]
	if set == nil {
		set = map[*Mailbox]struct{}{}
		h.watched[m.id] = set
	}
	set[m] = struct{}{}
}

func (h *hub) remove(m *Mailbox) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.watched[m.id]; set != nil {
		delete(set, m)
		if len(set) == 0 {
			delete(h.watched, m.id)
		}
	}
}

// signal wakes the handles of mailbox id except the one with origin.
func (h *hub) signal(id int64, origin int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.watched[id] {
		if m.origin != origin {
			m.wake()
		}
	}
}

// signalAll wakes every handle (after a lost connection: anything may
// have happened meanwhile).
func (h *hub) signalAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.watched {
		for m := range set {
			m.wake()
		}
	}
}

// run keeps a LISTEN connection until ctx ends, reconnecting with a
// growing delay (at most 5 s) when it breaks.
func (h *hub) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("pgstore: LISTEN connection lost, reconnecting", "err", err, "delay", delay)
		h.signalAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (h *hub) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := pgx.ConnectConfig(cctx, h.cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	first := false
	h.once.Do(func() { close(h.ready); first = true })
	if !first {
		// A reconnect may have missed notifications.
		h.signalAll()
	}
	for {
		// Wake periodically to check the connection is alive: a
		// database that vanished without a FIN is found by the ping.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if wctx.Err() != nil {
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = conn.Ping(pctx)
				cancel()
				if err == nil {
					continue
				}
			}
			return err
		}
		id, origin, ok := parsePayload(n.Payload)
		if ok {
			h.signal(id, origin)
		}
	}
}

func parsePayload(p string) (id, origin int64, ok bool) {
	a, b, found := strings.Cut(p, ":")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	origin, err2 := strconv.ParseInt(b, 10, 64)
	return id, origin, err1 == nil && err2 == nil
}

// notifyPayload is the payload parsePayload reads.
func notifyPayload(id, origin int64) string {
	return strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(origin, 10)
}
