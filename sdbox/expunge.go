package sdbox

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/yubinmail/yubin/store"
)

// Expunge implements store.Mailbox. The expunge is written to the log
// first (an EXTERNAL EXPUNGE record, as Dovecot writes once the files
// are gone), then the files are removed: a crash in between leaves a
// file no index refers to, never an index record without its file.
func (mb *Mailbox) Expunge(ctx context.Context, uids store.UIDSet) ([]uint32, error) {
	if err := mb.check(true); err != nil {
		return nil, err
	}
	var gone []uint32
	for _, i := range mb.view.indexes(uids) {
		if mb.view.msgs[i].flags&flagDeleted != 0 {
			gone = append(gone, mb.view.msgs[i].uid)
		}
	}
	if err := mb.expungeUIDs(ctx, gone); err != nil {
		return nil, err
	}
	return gone, nil
}

// expungeUIDs removes the messages with the given ascending UIDs.
func (mb *Mailbox) expungeUIDs(ctx context.Context, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	t, err := mb.h.begin(ctx, mb)
	if err != nil {
		return err
	}
	if !mb.sameMailbox(t) {
		// Renumbered or recreated: these UIDs name other messages now.
		t.abort()
		return fmt.Errorf("sdbox: %s: %w", mb.name, store.ErrMailboxGone)
	}
	tx := newTx()
	tx.add(recExpunge|recExpungeProt|recExternal, appendRanges(nil, uids))
	same := true
	ms := t.tip.modseq
	var rmErr error
	t.afterWrite = func() {
		for _, u := range uids {
			if err := os.Remove(mb.h.filePath(u)); err != nil && !errors.Is(err, os.ErrNotExist) {
				rmErr = err
			}
		}
	}
	data, off, err := t.commit(tx)
	if err != nil {
		return err
	}
	if rmErr != nil {
		mb.s.opts.logger().Warn("sdbox: expunged message file not removed", "mailbox", mb.name, "err", rmErr)
	}
	if same {
		mb.applyOwn(t, data, off, ms)
	}
	mb.h.signal(mb)
	if rmErr != nil {
		return fmt.Errorf("sdbox: remove expunged file: %w", rmErr)
	}
	return nil
}
