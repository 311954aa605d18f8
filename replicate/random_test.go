package replicate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestRandomConcurrentChangesConverge makes thousands of random changes
// on both sides (appends, flag and keyword changes, expunges, new
// mailboxes, subscriptions) while syncs run, then checks that after
// quiescence both sides hold the same mailboxes, UIDs, GUIDs, bytes
// and flags, every message not expunged is there exactly once, and no
// expunged one came back.
func TestRandomConcurrentChangesConverge(t *testing.T) {
	ops := 2000
	if testing.Short() {
		ops = 600
	}
	randomConverge(t, newPair(t), ops, false)
}

// TestRandomConcurrentChangesConvergeWithoutReplica is the same with a
// store without store.Replica on one side: same mail and flags, UIDs of
// each side's own.
func TestRandomConcurrentChangesConvergeWithoutReplica(t *testing.T) {
	p := newPair(t)
	bumpUIDValidities(t, p.B.(store.Replica), p.B, 1000)
	p.eb.Store = plainStore{p.B}
	randomConverge(t, p, 600, true)
}

func randomConverge(t *testing.T, p *pair, ops int, generic bool) {
	ctx := context.Background()
	boxes := []string{"INBOX", "Work", "Work/Old", "Lists"}
	if p.boxes != nil {
		boxes = p.boxes
	}
	kws := []string{"$Work", "$Later", "NonJunk"}
	var mu sync.Mutex
	appended := map[string]bool{}
	expunged := map[string]bool{}
	worker := func(s store.Store, seed uint64, tag string, n int) {
		r := rand.New(rand.NewPCG(seed, 7))
		for i := 0; i < n; i++ {
			box := boxes[r.IntN(len(boxes))]
			switch k := r.IntN(10); {
			case k < 4:
				if box != "INBOX" {
					s.CreateMailbox(ctx, box, store.CreateOptions{})
				}
				body := fmt.Sprintf("Subject: %s-%d\r\n\r\nbody %s %d\r\n", tag, i, tag, i)
				h, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
				if err != nil {
					continue
				}
				if _, err := h.Append(ctx, stringsReader(body), store.AppendOptions{}); err == nil {
					mu.Lock()
					appended[body] = true
					mu.Unlock()
				}
				h.Close()
			case k < 8:
				h, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
				if err != nil {
					continue
				}
				var uids []uint32
				h.Messages(ctx, nil, func(m *store.MessageInfo) error { uids = append(uids, m.UID); return nil })
				if len(uids) > 0 {
					uid := uids[r.IntN(len(uids))]
					f := store.Flags{System: store.SystemFlags(1 << r.IntN(3))}
					if r.IntN(2) == 0 {
						f = store.Flags{Keywords: []string{kws[r.IntN(len(kws))]}}
					}
					op := store.FlagsAdd
					if r.IntN(3) == 0 {
						op = store.FlagsRemove
					}
					h.SetFlags(ctx, store.UIDSetOf(uid), op, f, 0)
				}
				h.Close()
			case k < 9:
				h, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
				if err != nil {
					continue
				}
				var uids []uint32
				h.Messages(ctx, nil, func(m *store.MessageInfo) error { uids = append(uids, m.UID); return nil })
				if len(uids) > 0 {
					uid := uids[r.IntN(len(uids))]
					rd, err := h.Open(ctx, uid)
					if err == nil {
						b := make([]byte, 200)
						n, _ := rd.Read(b)
						rd.Close()
						h.SetFlags(ctx, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
						if ex, _ := h.Expunge(ctx, store.UIDSetOf(uid)); len(ex) == 1 {
							mu.Lock()
							expunged[string(b[:n])] = true
							mu.Unlock()
						}
					}
				}
				h.Close()
			default:
				if r.IntN(2) == 0 {
					s.Subscribe(ctx, box)
				} else {
					s.Unsubscribe(ctx, box)
				}
			}
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	syncErr := make(chan error, 1)
	go func() {
		defer close(syncErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := (&Syncer{}).Sync(ctx, p.ea, p.eb); err != nil {
				t.Logf("sync during changes: %v", err)
			}
		}
	}()
	for round := 0; round < 3; round++ {
		wg.Add(2)
		go func() { defer wg.Done(); worker(p.A, uint64(round*2+1), fmt.Sprint("a", round), ops/6) }()
		go func() { defer wg.Done(); worker(p.B, uint64(round*2+2), fmt.Sprint("b", round), ops/6) }()
		wg.Wait()
	}
	close(stop)
	<-syncErr
	p.sync()
	if st := p.sync(); st.Copied+st.Expunged+st.Renumbered+st.FlagUpdates != 0 {
		t.Errorf("second quiescent sync still did %+v", st)
	}
	have := map[string]int{}
	if generic {
		for _, l := range sameContents(t, p.A, p.B) {
			for _, x := range l {
				body, _, _ := strings.Cut(x, "|")
				have[body]++
			}
		}
	} else {
		for _, b := range p.same() {
			for _, m := range b.Msgs {
				have[m.Body]++
			}
		}
	}
	for body := range appended {
		switch {
		case expunged[body] && have[body] > 0:
			t.Errorf("expunged message came back: %q", body)
		case !expunged[body] && have[body] != 1:
			t.Errorf("message %q present %d times", body, have[body])
		}
	}
	t.Logf("%d appended, %d expunged, %d kept", len(appended), len(expunged), len(have))
}
