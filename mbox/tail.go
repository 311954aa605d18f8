package mbox

import (
	"fmt"
	"os"
	"sort"
	"strconv"
)

// Incremental sync, as Dovecot's with mbox_dirty_syncs (its default):
// when the file grew, another program most likely appended mail, so only
// the part from the last known message on is parsed, after checking that
// the last message still starts with its From_ line where it was and
// carries its X-UID. Anything else (the file shrank, kept its size but
// changed — a change in place —, or the last message moved) costs a full
// pass. As with Dovecot, a flag another program changed in place in an
// earlier message at the same time as it appended is not noticed until
// the next full pass.

// readTailLocked brings the box up to date with a file (behind ref,
// locked by the caller) that grew since it was read, parsing only its
// new part. It reports false, having changed nothing, when the known
// part of the file does not look as it did.
func (b *box) readTailLocked(ref *fileRef, fi os.FileInfo) (bool, error) {
	id := identOf(fi)
	if !b.loaded || b.rf == nil || b.needWrite || b.pseudo || b.baseDigitsOff < 0 || len(b.msgs) == 0 ||
		id.dev != b.ident.dev || id.ino != b.ident.ino || id.size <= b.ident.size {
		return false, nil
	}
	// The messages in file order (UIDs ascend in the file).
	list := make([]*msg, len(b.msgs))
	copy(list, b.msgs)
	sort.Slice(list, func(i, j int) bool { return list[i].raw.fromOff < list[j].raw.fromOff })
	last := list[len(list)-1]
	res, ok, err := parseTail(ref.f, last.raw.fromOff, id.size)
	if err != nil {
		return false, fmt.Errorf("mbox: reading %s: %w", b.path, err)
	}
	if !ok || len(res.msgs) == 0 || res.metas[0].uid != last.uid {
		return false, nil
	}
	// X-IMAPbase's last UID, which appenders raise in place.
	var digits [10]byte
	if _, err := ref.f.ReadAt(digits[:], b.baseDigitsOff); err != nil {
		return false, nil
	}
	lastUID, err := strconv.ParseUint(string(digits[:]), 10, 32)
	if err != nil || uint32(lastUID) < b.baseLastUID {
		return false, nil
	}
	for _, d := range res.damage {
		b.s.log.Warn("mbox: damaged mailbox file", "mailbox", b.name, "path", b.path, "damage", d)
	}
	// What the whole file says, the known messages as they were.
	full := &parseResult{prefixEnd: b.prefixEnd}
	full.base = baseInfo{uidValidity: b.uidValidity, lastUID: uint32(lastUID), keywords: b.baseKeywords, digitsOff: b.baseDigitsOff}
	for _, m := range list[:len(list)-1] {
		full.msgs = append(full.msgs, m.raw)
		full.metas = append(full.metas, rawMeta{uid: m.uid, flags: m.flags, date: m.date, digest: m.digest})
	}
	full.msgs = append(full.msgs, res.msgs...)
	full.metas = append(full.metas, res.metas...)
	b.merge(full, fi)
	b.rf.release()
	b.rf = ref.acquire()
	b.ident = id
	return true, nil
}

// refreshLocked reads what changed in the file behind ref (locked by
// the caller): the new part when it only grew, else all of it.
func (b *box) refreshLocked(ref *fileRef) error {
	fi, err := ref.f.Stat()
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	if ok, err := b.readTailLocked(ref, fi); ok || err != nil {
		return err
	}
	return b.readLocked(ref)
}
