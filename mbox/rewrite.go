package mbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

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

// copier copies ranges of the source file through one buffer and
// remembers the last byte copied.
type copier struct {
	src  io.ReaderAt
	buf  []byte
	last byte
}

func (c *copier) copy(w io.Writer, off, n int64) error {
	for n > 0 {
		k := min(n, int64(len(c.buf)))
		got, err := c.src.ReadAt(c.buf[:k], off)
		if got > 0 {
			if _, werr := w.Write(c.buf[:got]); werr != nil {
				return werr
			}
			c.last = c.buf[got-1]
		}
		off += int64(got)
		n -= int64(got)
		if err != nil && n > 0 {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

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
	// A temporary file left by a crash: the dotlock holder alone writes
	// them.
	if old, _ := filepath.Glob(filepath.Join(dir, "."+filepath.Base(b.path)+".yubin-tmp-*")); len(old) > 0 {
		for _, p := range old {
			os.Remove(p)
		}
	}
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
	cp := &copier{src: src, buf: make([]byte, 256<<10)}
	if err := cp.copy(w, 0, b.prefixEnd); err != nil {
		return fmt.Errorf("mbox: rewrite: %w", err)
	}
	var kws []string
	for _, m := range list {
		kws = (store.Flags{Keywords: kws}).Apply(store.FlagsAdd, store.Flags{Keywords: m.flags.Keywords}).Keywords
		if len(kws) > maxKeywords {
			kws = kws[:maxKeywords]
		}
	}
	// Where each message goes, applied once the new file is in place (a
	// failed rewrite leaves the box as it was): the rest follows from the
	// old ranges.
	type place struct {
		fromOff int64
		hidN    int32
		fromNL  bool // a newline was added after the From_ line
		newSep  bool // the empty line after the header was written anew
	}
	places := make([]place, len(list))
	digitsOff := int64(-1)
	var hb bytes.Buffer
	for i, m := range list {
		r := m.raw
		pl := &places[i]
		pl.fromOff = w.n
		if err := cp.copy(w, r.fromOff, r.hdrOff-r.fromOff); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
		if cp.last != '\n' {
			w.WriteString("\n") // a From_ line cut short at EOF
			pl.fromNL = true
		}
		empty := r.visibleEmpty()
		if !empty {
			for _, sg := range r.segments() {
				if sg.off >= r.sepOff {
					break
				}
				if err := cp.copy(w, sg.off, sg.n); err != nil {
					return fmt.Errorf("mbox: rewrite: %w", err)
				}
			}
		}
		hb.Reset()
		var base *baseHeader
		if i == 0 {
			base = &baseHeader{uidValidity: b.uidValidity, lastUID: b.nextUID - 1, keywords: kws}
		}
		if d := writeHidden(&hb, base, m.uid, m.flags, r.bodyEnd-r.bodyOff); d >= 0 {
			digitsOff = w.n + int64(d)
		}
		pl.hidN = int32(hb.Len())
		w.Write(hb.Bytes())
		if empty || r.sepOff == r.bodyOff {
			w.WriteString("\n")
			pl.newSep = true
		} else if err := cp.copy(w, r.sepOff, r.bodyOff-r.sepOff); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
		cp.last = '\n'
		if err := cp.copy(w, r.bodyOff, r.bodyEnd-r.bodyOff); err != nil {
			return fmt.Errorf("mbox: rewrite: %w", err)
		}
		if cp.last != '\n' {
			w.WriteString("\n\n")
		} else {
			w.WriteString("\n")
		}
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
	// Others who open the new file before the write lock is over must
	// wait as they would have on the old one.
	if err := fcntlLock(context.Background(), tmp, unix.F_WRLCK); err != nil {
		return err
	}
	b.lockedNew = tmp
	if fi, err := src.Stat(); err == nil {
		b.retire(src, fi.Size())
	}
	if err := os.Rename(tmp.Name(), b.path); err != nil {
		b.unretire() // still the mailbox: not retired
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
	for i, m := range list {
		r, pl := m.raw, places[i]
		empty := r.visibleEmpty()
		visLen := int64(0)
		if !empty {
			visLen = r.sepOff - r.hdrOff - r.hid.n
			if r.more != nil {
				for _, s := range *r.more {
					visLen -= s.n
				}
			}
		}
		sepLen := r.bodyOff - r.sepOff
		if pl.newSep {
			sepLen = 1
		}
		bodyLen := r.bodyEnd - r.bodyOff
		nr := rawMsg{fromOff: pl.fromOff, bodyVsize: r.bodyVsize}
		nr.hdrOff = pl.fromOff + r.hdrOff - r.fromOff + int64(boolInt(pl.fromNL))
		if !empty {
			nr.hdrVsize = r.hdrVsize
		}
		nr.hid = seg{nr.hdrOff + visLen, int64(pl.hidN)}
		nr.sepOff = nr.hid.off + nr.hid.n
		nr.bodyOff = nr.sepOff + sepLen
		nr.bodyEnd = nr.bodyOff + bodyLen
		*r = nr
		if v := r.vsize(); v != m.vsize {
			// A header-only message got its empty line: a new record,
			// as handles read records without the lock.
			nm := *m
			nm.vsize = v
			list[i] = &nm
		}
	}
	b.msgs = list
	b.pseudo = false
	b.baseDigitsOff = digitsOff
	b.baseLastUID = b.nextUID - 1
	b.baseKeywords = kws
	b.needWrite = false
	b.saveState()
	return nil
}
