package mbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/yubinmail/yubin/store"
)

// countWriter counts the bytes written through it: the file offset.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *countWriter) WriteString(s string) (int, error) { return c.Write([]byte(s)) }

// rewrite writes the messages of list (from src, the locked current
// file) into a new file that replaces the mailbox by rename: each
// message's From_ line, visible header and body are copied as they are
// and the fields Dovecot keeps (X-IMAPbase on the first, X-UID, Status,
// X-Status, X-Keywords, Content-Length) are written afresh. The new file
// is fsynced before the rename and the directory after it, so a crash
// leaves either the old or the new mailbox. Memory use does not depend
// on the size of the messages.
func (b *box) rewrite(src *os.File, list []*msg) error {
	dir := filepath.Dir(b.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(b.path)+".yubin-tmp-*")
	if err != nil {
		return fmt.Errorf("mbox: rewrite: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if fi, err := src.Stat(); err == nil {
		tmp.Chmod(fi.Mode().Perm())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			tmp.Chown(int(st.Uid), int(st.Gid))
		}
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	w := &countWriter{w: bw}
	if err := copyRange(w, src, 0, b.prefixEnd); err != nil {
		return fmt.Errorf("mbox: rewrite: %w", err)
	}
	var kws []string
	for _, m := range list {
		kws = (store.Flags{Keywords: kws}).Apply(store.FlagsAdd, store.Flags{Keywords: m.flags.Keywords}).Keywords
		if len(kws) > maxKeywords {
			kws = kws[:maxKeywords]
		}
	}
	out := make([]*msg, 0, len(list))
	digitsOff := int64(-1)
	var hb bytes.Buffer
	var one [1]byte
	for i, m := range list {
		r := m.raw
		nr := &rawMsg{fromOff: w.n, date: r.date, contentLength: r.bodyEnd - r.bodyOff, baseDigitsOff: -1, uid: m.uid}
		if err := copyRange(w, src, r.fromOff, r.hdrOff-r.fromOff); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
		one[0] = 0
		src.ReadAt(one[:], r.hdrOff-1)
		if one[0] != '\n' {
			w.WriteString("\n") // a From_ line cut short at EOF
		}
		nr.hdrOff = w.n
		empty := r.visibleEmpty()
		if !empty {
			for _, sg := range r.segments() {
				if sg.off >= r.sepOff {
					break
				}
				if err := copyRange(w, src, sg.off, sg.n); err != nil {
					return fmt.Errorf("mbox: rewrite: %w", err)
				}
			}
			nr.hdrVsize = r.hdrVsize
		}
		hb.Reset()
		var base *baseHeader
		if i == 0 {
			base = &baseHeader{uidValidity: b.uidValidity, lastUID: b.nextUID - 1, keywords: kws}
		}
		if d := writeHidden(&hb, base, m.uid, m.flags, nr.contentLength); d >= 0 {
			digitsOff = w.n + int64(d)
		}
		nr.hidden = []seg{{w.n, int64(hb.Len())}}
		w.Write(hb.Bytes())
		nr.sepOff = w.n
		if empty || r.sepOff == r.bodyOff {
			w.WriteString("\n")
			nr.sepVsize = 2
		} else {
			if err := copyRange(w, src, r.sepOff, r.bodyOff-r.sepOff); err != nil {
				return fmt.Errorf("mbox: rewrite: %w", err)
			}
			nr.sepVsize = r.sepVsize
		}
		nr.bodyOff = w.n
		if err := copyRange(w, src, r.bodyOff, r.bodyEnd-r.bodyOff); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
		nr.bodyEnd, nr.bodyVsize = w.n, r.bodyVsize
		trailer := "\n"
		if r.bodyEnd > r.bodyOff {
			if _, err := src.ReadAt(one[:], r.bodyEnd-1); err != nil {
				return fmt.Errorf("mbox: rewrite: %w", err)
			}
			if one[0] != '\n' {
				trailer = "\n\n"
			}
		}
		w.WriteString(trailer)
		nr.next = w.n
		out = append(out, &msg{uid: m.uid, flags: m.flags, modseq: m.modseq, date: m.date, vsize: nr.vsize(), raw: nr, stored: true})
	}
	if w.err != nil {
		return fmt.Errorf("mbox: rewrite: %w", w.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("mbox: rewrite: %w", err)
	}
	if !b.s.opts.NoSync {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), b.path); err != nil {
		return fmt.Errorf("mbox: rewrite: %w", err)
	}
	done = true
	if err := b.s.syncDir(dir); err != nil {
		b.s.log.Warn("mbox: fsync directory", "dir", dir, "err", err)
	}
	// tmp is now the mailbox file: read through it from here on.
	ref := newFileRef(tmp)
	b.rf.release()
	b.rf = ref
	b.fileChanged(tmp)
	b.msgs = out
	b.pseudo = nil
	b.baseDigitsOff = digitsOff
	b.baseLastUID = b.nextUID - 1
	b.needWrite = false
	b.saveState()
	return nil
}
