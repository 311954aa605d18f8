package imap

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
)

// randomThreadItem makes message uid with headers drawn from rnd: few
// subjects (with and without "Re:"), repeated dates, message-ids that
// repeat or are missing, and references to earlier, later, unknown and
// its own message-ids, so every branch of REFERENCES' linking is met.
func randomThreadItem(rnd *rand.Rand, uid uint32) sortItem {
	h := randomThreadHeader(rnd, uid)
	hd, err := imapmsg.ReadHeader(strings.NewReader(h+"\r\n"), int64(len(h)+2), imapmsg.Limits{})
	if err != nil {
		panic(err)
	}
	it := sortItem{uid: uid, arrival: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC).Unix() + int64(uid)}
	it.setKeys(imapmsg.SortKeysOf(hd))
	return it
}

// randomThreadHeader is randomThreadItem's header.
func randomThreadHeader(rnd *rand.Rand, uid uint32) string {
	var h strings.Builder
	fmt.Fprintf(&h, "Subject: %stopic %d\r\n", []string{"", "Re: ", "Fwd: ", ""}[rnd.IntN(4)], rnd.IntN(5))
	if rnd.IntN(6) == 0 {
		h.Reset()
		h.WriteString("Subject: \r\n")
	}
	if rnd.IntN(8) != 0 {
		fmt.Fprintf(&h, "Date: Mon, %d Jan 2024 10:00:00 +0000\r\n", 1+rnd.IntN(9))
	}
	id := func() string { return fmt.Sprintf("<m%d@x>", rnd.IntN(int(uid)+8)) }
	switch rnd.IntN(10) {
	case 0: // none
	case 1:
		fmt.Fprintf(&h, "Message-ID: %s\r\n", id())
	default:
		fmt.Fprintf(&h, "Message-ID: <m%d@x>\r\n", uid)
	}
	if n := rnd.IntN(4); n > 0 {
		refs := make([]string, n)
		for i := range refs {
			refs[i] = id()
		}
		fmt.Fprintf(&h, "References: %s\r\n", strings.Join(refs, " "))
	} else if rnd.IntN(2) == 0 {
		fmt.Fprintf(&h, "In-Reply-To: %s\r\n", id())
	}
	return h.String()
}

// TestThreadKeptMatchesFresh applies random appends and expunges to the
// kept THREAD results of every algorithm and compares each step with
// threading the current messages from nothing.
func TestThreadKeptMatchesFresh(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		var msgs []sortItem // current, in UID order
		next := uint32(0)
		states := map[string]*threadState{}
		for _, alg := range []string{"REFERENCES", "REFS", "ORDEREDSUBJECT"} {
			states[alg] = &threadState{alg: alg}
		}
		rebuilds, expunges := 0, 0
		for step := 0; step < 60; step++ {
			var added []sortItem
			var removed []uint32
			if step > 0 && len(msgs) > 0 && rnd.IntN(3) == 0 {
				for i := 0; i < 1+rnd.IntN(3) && len(msgs) > 0; i++ {
					k := rnd.IntN(len(msgs))
					removed = append(removed, msgs[k].uid)
					msgs = append(msgs[:k:k], msgs[k+1:]...)
				}
				sortUIDs(removed)
				expunges += 3
			} else {
				for i := 0; i < 1+rnd.IntN(4)*rnd.IntN(2); i++ {
					next++
					it := randomThreadItem(rnd, next)
					added = append(added, it)
					msgs = append(msgs, it)
				}
			}
			for alg, st := range states {
				kept := make([]sortItem, len(added))
				for i := range added {
					kept[i] = threadItem(&added[i])
				}
				switch {
				case st.base == nil || !st.remove(removed):
					if st.base != nil {
						rebuilds++
					}
					all := make([]sortItem, len(msgs))
					for i := range msgs {
						all[i] = threadItem(&msgs[i])
					}
					st.build(all)
				default:
					st.add(kept, false)
				}
				fresh := make([]sortItem, len(msgs))
				copy(fresh, msgs)
				for i := range fresh {
					fresh[i].seq = uint32(i + 1)
				}
				roots := threadBy(alg, fresh)
				seqOf := func(it *sortItem) uint32 {
					i, _ := slices.BinarySearchFunc(msgs, it.uid, func(m sortItem, u uint32) int { return cmp.Compare(m.uid, u) })
					return uint32(i + 1)
				}
				for form, num := range []func(*sortItem) uint32{seqOf, itemUID} {
					fnum := itemSeq
					if form == 1 {
						fnum = itemUID
					}
					want := string(appendThreadResponse(nil, roots, fnum))
					got := string(st.order().reply(form, num))
					if got != want {
						t.Fatalf("seed %d step %d %s form %d (added %d, removed %v):\nkept  %s\nfresh %s", seed, step, alg, form, len(added), removed, got, want)
					}
				}
			}
		}
		if seed == 1 {
			t.Logf("seed 1: %d of %d expunge steps (over 3 algorithms) built again", rebuilds, expunges)
		}
	}
}

func sortUIDs(u []uint32) {
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && u[j] < u[j-1]; j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
}

// TestThreadUpdatedIncrementally has another session append and expunge
// messages with random threading headers, one change at a time, and
// after each compares every kept THREAD ALL (sequence numbers and UIDs)
// with one threaded from nothing (UID 1:*).
func TestThreadUpdatedIncrementally(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	rnd := rand.New(rand.NewPCG(3, 4))
	next := uint32(0)
	appendOne := func() {
		next++
		m := randomThreadHeader(rnd, next) + "\r\nbody\r\n"
		b.ok(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(m), m))
	}
	for range 30 {
		appendOne()
	}
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	check := func(step int) { t.Helper(); checkThreadsKept(t, a, step) }
	check(0)
	for step := 1; step <= 60; step++ {
		if rnd.IntN(3) == 0 {
			b.ok(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", 1+rnd.IntN(int(next))))
			b.ok("EXPUNGE")
		} else {
			appendOne()
		}
		a.ok("NOOP")
		check(step)
	}
}
