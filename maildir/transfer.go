package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Copy implements store.Mailbox: files are hard-linked into the
// destination (copied when linking is impossible) with new base names.
func (h *handle) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := h.check(); err != nil {
		return store.CopyResult{}, err
	}
	dst, err := h.m.s.box(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	list := h.uidsIn(uids)
	if len(list) == 0 {
		return store.CopyResult{}, nil // nil would be every message to transfer
	}
	return h.m.transfer(ctx, list, dst, false, h)
}

// Move implements store.Mailbox: each file is renamed into the
// destination, which is atomic per message.
func (h *handle) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := h.writable(); err != nil {
		return store.CopyResult{}, err
	}
	dst, err := h.m.s.box(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	list := h.uidsIn(uids)
	if len(list) == 0 {
		return store.CopyResult{}, nil // nil would be every message to transfer
	}
	return h.m.transfer(ctx, list, dst, true, h)
}

// lockPair locks two mailboxes in a fixed order.
func lockPair(a, b *mbox) func() {
	if a == b {
		a.mu.Lock()
		return a.mu.Unlock
	}
	if a.dir > b.dir {
		a, b = b, a
	}
	a.mu.Lock()
	b.mu.Lock()
	return func() { b.mu.Unlock(); a.mu.Unlock() }
}

// transfer copies or moves the messages uids (nil: all) of m into dst.
// origin is the handle acting on m (nil for a store operation).
func (m *mbox) transfer(ctx context.Context, uids []uint32, dst *mbox, move bool, origin *handle) (store.CopyResult, error) {
	unlock := lockPair(m, dst)
	defer unlock()
	if err := m.ensureLoaded(ctx); err != nil {
		return store.CopyResult{}, err
	}
	if err := dst.ensureLoaded(ctx); err != nil {
		return store.CopyResult{}, err
	}
	if uids == nil {
		for _, x := range m.msgs {
			uids = append(uids, x.uid)
		}
	}
	kl := m.kw.Load()
	var files []staged
	var srcUIDs []uint32
	var tmps []string
	defer func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}()
	now := time.Now()
	// Into another folder a message keeps its base name (its GUID, so
	// IMAP's EMAILID stays the same after COPY and MOVE as RFC 8474
	// requires), as Dovecot's maildir_copy_preserve_filename does; a base
	// the destination already holds gets a new one.
	var taken map[string]bool
	if dst != m {
		taken = dst.baseNames()
	}
	for _, uid := range uids {
		i := findUID(m.msgs, uid)
		if i < 0 {
			continue
		}
		x := m.msgs[i]
		base := parseFileName(x.name).Base
		if dst == m || taken[base] || base == "" {
			base = m.s.uniqueBase(now) + ",S=" + strconv.FormatInt(x.size, 10) + ",W=" + strconv.FormatInt(x.vsize, 10)
		}
		if taken != nil {
			taken[base] = true
		}
		from := m.path(x)
		if move {
			m.noteOwn(x)
		} else {
			tmp := filepath.Join(dst.dir, "tmp", base)
			err := linkOrCopy(from, tmp)
			if errors.Is(err, os.ErrExist) {
				// A leftover in tmp/ holds the name: take a new one.
				base = m.s.uniqueBase(now) + ",S=" + strconv.FormatInt(x.size, 10) + ",W=" + strconv.FormatInt(x.vsize, 10)
				tmp = filepath.Join(dst.dir, "tmp", base)
				err = linkOrCopy(from, tmp)
			}
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				return store.CopyResult{}, fmt.Errorf("maildir: copy: %w", err)
			}
			m.s.chown(tmp)
			tmps = append(tmps, tmp)
			from = tmp
		}
		names := kl.names(x.kw)
		var mask uint32
		if len(names) > 0 {
			var err error
			if mask, err = dst.keywordMask(ctx, names); err != nil {
				return store.CopyResult{}, err
			}
		}
		fn := fileName{Base: base, HasInfo: true, System: x.sys, Keywords: mask}
		c := &msg{sys: x.sys, kw: mask, name: fn.String(), size: x.size, vsize: x.vsize}
		c.date.Store(m.internalDate(x).UnixNano())
		files = append(files, staged{from: from, x: c})
		srcUIDs = append(srcUIDs, uid)
	}
	if dst == m {
		for i := range files {
			files[i].origin = origin
		}
	}
	res, err := dst.commitLocked(ctx, files, false)
	if err != nil {
		return store.CopyResult{}, err
	}
	out := store.CopyResult{DestUIDValidity: res.uidValidity}
	var bytes, count int64
	for i, u := range res.uids {
		if u == 0 {
			continue
		}
		out.SourceUIDs = append(out.SourceUIDs, srcUIDs[i])
		out.DestUIDs = append(out.DestUIDs, u)
		if move {
			m.removeExpunged(srcUIDs[i], origin)
			out.Expunged = append(out.Expunged, srcUIDs[i])
		} else {
			bytes += files[i].x.size
			count++
		}
	}
	m.s.quotaDelta(bytes, count)
	return out, nil
}

// baseNames returns the base names of the folder's messages and of the
// dovecot-uidlist records whose files were not seen yet. The caller
// holds m.mu.
func (m *mbox) baseNames() map[string]bool {
	names := make(map[string]bool, len(m.msgs)+len(m.pending))
	for _, x := range m.msgs {
		base := x.name
		if i := strings.IndexByte(base, ':'); i >= 0 {
			base = base[:i]
		}
		names[base] = true
	}
	for base := range m.pending {
		names[base] = true
	}
	return names
}

// linkOrCopy hard-links from to to, or copies it where links are not
// possible (another file system, or links refused).
func linkOrCopy(from, to string) error {
	err := os.Link(from, to)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return err
	}
	var le *os.LinkError
	if !errors.As(err, &le) || !(errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.EPERM) || errors.Is(le.Err, syscall.EMLINK)) {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if fi, serr := in.Stat(); err == nil && serr == nil {
		os.Chtimes(to, fi.ModTime(), fi.ModTime())
	}
	return err
}
