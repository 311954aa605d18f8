package sdbox

import (
	"context"
)

// Group commit: appends to one mailbox that arrive while another is
// being committed wait and are committed together, each as its own
// transaction (so that each handle marks only its own records as its
// own), with one directory fsync, one write and one fdatasync of the
// log for all of them.

// appendReq is one Append (or Copy) waiting to be committed.
type appendReq struct {
	mb   *Mailbox // the handle appending, nil for a copy from elsewhere
	msgs []*newMsg
	done chan appendResult
}

// appendResult is where a request's transaction went.
type appendResult struct {
	err         error
	uidValidity uint32
	data        []byte // the request's transaction
	off         int    // its offset in the log
	modseq      uint64 // the modseq counter where it starts
	seq         uint32
	ino         uint64
}

// enqueue commits msgs (their files written and synced) and returns
// where they went. The first caller to find no commit running commits
// every request queued meanwhile.
func (h *hub) enqueue(ctx context.Context, mb *Mailbox, msgs []*newMsg) appendResult {
	req := &appendReq{mb: mb, msgs: msgs, done: make(chan appendResult, 1)}
	h.qmu.Lock()
	h.queue = append(h.queue, req)
	lead := !h.leading
	if lead {
		h.leading = true
	}
	h.qmu.Unlock()
	if lead {
		// The batch is not given up when this caller's ctx ends:
		// other callers' messages are in it. The lock timeout bounds it.
		bctx := context.WithoutCancel(ctx)
		for {
			h.qmu.Lock()
			batch := h.queue
			h.queue = nil
			if len(batch) == 0 {
				h.leading = false
				h.qmu.Unlock()
				break
			}
			h.qmu.Unlock()
			h.commitBatch(bctx, batch)
		}
	}
	return <-req.done
}

// commitBatch commits queued requests in one log write.
func (h *hub) commitBatch(ctx context.Context, batch []*appendReq) {
	fail := func(reqs []*appendReq, err error) {
		for _, r := range reqs {
			r.done <- appendResult{err: err}
		}
	}
	var base *state
	var pos logPos
	var ino uint64
	if m := batch[0].mb; m != nil && m.gone == 0 {
		base, pos, ino = m.view, m.pos, m.ino
	}
	t, err := h.begin(ctx, base, pos, ino)
	if err != nil {
		fail(batch, err)
		return
	}
	var ok []*appendReq
	for _, r := range batch {
		if err := h.placeMessages(t, r.msgs); err != nil {
			r.done <- appendResult{err: err}
			continue
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		t.abort()
		return
	}
	if err := h.s.syncDir(h.dir); err != nil {
		t.abort()
		fail(ok, err)
		return
	}
	all := &txBuilder{}
	results := make([]appendResult, len(ok))
	ms := t.tip.modseq
	for i, r := range ok {
		tx := newTx()
		appendRecords(tx, r.msgs)
		b := tx.bytes()
		results[i] = appendResult{uidValidity: t.tip.uidValidity(), data: b, off: t.end + len(all.buf), modseq: ms, seq: t.seq, ino: t.ino}
		walkLog(b, 0, 0, func(rec logRecord) error {
			ms += modseqStep(rec)
			return nil
		})
		all.buf = append(all.buf, b...)
	}
	if _, _, err := t.commit(all); err != nil {
		fail(ok, err)
		return
	}
	for i, r := range ok {
		r.done <- results[i]
	}
}
