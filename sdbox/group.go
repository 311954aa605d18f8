package sdbox

import (
	"context"
	"encoding/binary"
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
	caughtUp    bool // see Mailbox.ownCommitted
	lead        bool // not a result: the receiver commits the queue now
}

// enqueue commits msgs (their files written and synced) and returns
// where they went. The first caller to find no commit running commits
// every request queued meanwhile; then the first of those queued since
// takes over, as in maildir, so that a caller whose append is done goes
// back to its work at once instead of committing for the others.
func (h *hub) enqueue(ctx context.Context, mb *Mailbox, msgs []*newMsg) appendResult {
	req := &appendReq{mb: mb, msgs: msgs, done: make(chan appendResult, 2)}
	h.qmu.Lock()
	h.queue = append(h.queue, req)
	lead := !h.leading
	if lead {
		h.leading = true
	}
	h.qmu.Unlock()
	if lead {
		h.commitQueued(ctx)
	}
	for {
		r := <-req.done
		if !r.lead {
			return r
		}
		h.commitQueued(ctx)
	}
}

// commitQueued commits the queued requests (the caller's among them) as
// one batch, then hands the lead to the first request queued since.
func (h *hub) commitQueued(ctx context.Context) {
	h.qmu.Lock()
	batch := h.queue
	h.queue = nil
	h.qmu.Unlock()
	if len(batch) > 0 {
		// The batch is not given up when this caller's ctx ends:
		// other callers' messages are in it. The lock timeout bounds
		// it.
		h.commitBatch(context.WithoutCancel(ctx), batch)
	}
	h.qmu.Lock()
	if len(h.queue) == 0 {
		h.leading = false
	} else {
		h.queue[0].done <- appendResult{lead: true}
	}
	h.qmu.Unlock()
}

// commitBatch commits queued requests in one log write.
func (h *hub) commitBatch(ctx context.Context, batch []*appendReq) {
	fail := func(reqs []*appendReq, err error) {
		for _, r := range reqs {
			r.done <- appendResult{err: err}
		}
	}
	t, err := h.beginAppend(ctx, batch[0].mb)
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
	// The renames and the log records are made durable at once, as
	// maildir syncs new/ and dovecot-uidlist: one journal commit on
	// most file systems (on ext4 the log's fdatasync commits the
	// renames with it). No append returns before both are done.
	// Deliveries made with NoSync wait for SyncDeliveries, unless an
	// append of the batch syncs anyway.
	noSync := true
	for _, r := range ok {
		for _, m := range r.msgs {
			noSync = noSync && m.noSync
		}
	}
	t.noSync = noSync
	dirErr := make(chan error, 1)
	started := false
	if noSync {
		dirErr <- nil
	} else {
		// Started once the log is written, not before: the directory's
		// fsync and the log's fdatasync then wait for the same journal
		// commit on ext4, where a directory fsync started first
		// commits the links alone and the log needs a second commit.
		t.beforeSync = func() {
			started = true
			sync := h.syncMailDir()
			go func() { dirErr <- sync() }()
		}
	}
	all := &txBuilder{}
	results := make([]appendResult, len(ok))
	ms := t.tip.modseq
	for i, r := range ok {
		tx := newTx()
		appendRecords(tx, r.msgs)
		b := tx.bytes()
		results[i] = appendResult{uidValidity: t.tip.uidValidity(), data: b, off: t.end + len(all.buf), modseq: ms, seq: t.seq, ino: t.ino, caughtUp: i == 0 && r == batch[0] && t.onlyOwn}
		walkLog(b, 0, 0, func(rec logRecord) error {
			ms += modseqStep(rec)
			return nil
		})
		all.buf = append(all.buf, b...)
	}
	t.afterWrite = func() { h.keepTip(t, all.buf) }
	_, _, err = t.commit(all)
	if !noSync && !started {
		dirErr <- nil // the commit failed before its sync
	}
	if derr := <-dirErr; err == nil {
		err = derr
	}
	if err == nil && noSync {
		// Noted after the log write, the batch's last change.
		err = h.s.opts.pending.Note(h.dir)
	}
	if err != nil {
		fail(ok, err)
		return
	}
	for i, r := range ok {
		r.done <- results[i]
	}
}

// beginAppend is begin for a group commit of appends, which needs of the
// mailbox only its header (next UID, UIDVALIDITY, modseq): when the log
// is as this process's last commit left it, that is taken from the
// commit instead of reading the log from the handle's position.
func (h *hub) beginAppend(ctx context.Context, mb *Mailbox) (*txn, error) {
	h.mu.Lock()
	last := h.last
	if last == nil {
		h.mu.Unlock()
		return h.begin(ctx, mb)
	}
	t, err := h.lockLog(ctx)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	if t.ino == last.ino && t.size == int64(last.end) {
		var seq [4]byte
		// The log's file_seq is at offset 8 of its header. Kept open
		// since the last commit, the file is the one that commit wrote
		// (its inode could not be freed and reused meanwhile).
		same := t.held && last.logGen == h.logGen
		if !same {
			n, _ := t.f.ReadAt(seq[:], 8)
			same = n == 4 && binary.LittleEndian.Uint32(seq[:]) == last.seq
		}
		if same {
			t.seq, t.end = last.seq, last.end
			t.tip = &state{hdr: last.hdr, modseq: last.modseq}
			t.onlyOwn = mb != nil && mb.gone == 0 && mb.ino == last.ino && mb.pos.seq == last.seq && mb.pos.off == last.end
			return t, nil
		}
	}
	h.last = nil
	t.abort()
	return h.begin(ctx, mb)
}

// keepTip records, after a group commit wrote data at t.end (the log
// still locked), the log's end and the header there.
func (h *hub) keepTip(t *txn, data []byte) {
	tip := &state{hdr: t.tip.hdr, modseq: t.tip.modseq}
	walkLog(data, t.end, t.end, func(r logRecord) error {
		tip.apply(r, nil)
		return nil
	})
	h.last = &commitTip{ino: t.ino, seq: t.seq, end: t.end + len(data), hdr: tip.hdr, modseq: tip.modseq}
	if t.f == h.logf {
		h.last.logGen = h.logGen
	}
}
