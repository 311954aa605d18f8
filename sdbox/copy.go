package sdbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/store"
)

// Copy implements store.Mailbox. As Dovecot does for sdbox, each u.N
// file is hard-linked into the destination (the file names no UID or
// mailbox), so GUID, dates, POP3 UIDL and unknown metadata come along
// byte for byte; where a link is impossible the file is copied.
func (mb *Mailbox) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := mb.check(false); err != nil {
		return store.CopyResult{}, err
	}
	return mb.copyTo(ctx, uids, dest)
}

// Move implements store.Mailbox: a copy, then an expunge of the sources.
func (mb *Mailbox) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := mb.check(true); err != nil {
		return store.CopyResult{}, err
	}
	res, err := mb.copyTo(ctx, uids, dest)
	if err != nil {
		return res, err
	}
	if err := mb.expungeUIDs(ctx, res.SourceUIDs); err != nil {
		return res, err
	}
	res.Expunged = append([]uint32(nil), res.SourceUIDs...)
	return res, nil
}

func (mb *Mailbox) copyTo(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	name, dir, err := mb.s.resolve(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	md := mailDir(dir)
	if !isDir(md) {
		return store.CopyResult{}, fmt.Errorf("sdbox: %q: %w", name, store.ErrNoSuchMailbox)
	}
	uv := mb.view.uidValidity()
	var msgs []*newMsg
	var res store.CopyResult
	var temps []string
	defer func() {
		for _, p := range temps {
			os.Remove(p)
		}
	}()
	dh := mb.s.hubFor(md)
	for _, i := range mb.view.indexes(uids) {
		m := &mb.view.msgs[i]
		src := mb.h.filePath(m.uid)
		nm := &newMsg{flags: flagsOf(mb.view, m), vsize: mb.h.sizeOf(uv, m), file: src, link: true}
		if !sameDevice(src, md) {
			tmp, err := dh.copyFile(src)
			if err != nil {
				return res, err
			}
			temps = append(temps, tmp)
			nm.file, nm.link = tmp, false
		}
		msgs = append(msgs, nm)
		res.SourceUIDs = append(res.SourceUIDs, m.uid)
	}
	if len(msgs) == 0 {
		st, err := mb.s.Status(ctx, name)
		res.DestUIDValidity = st.UIDValidity
		return res, err
	}
	if dh == mb.h {
		res.DestUIDValidity, err = mb.addAll(ctx, msgs)
	} else {
		r := dh.enqueue(ctx, nil, msgs)
		res.DestUIDValidity, err = r.uidValidity, r.err
		dh.signal(nil)
	}
	if err != nil {
		return store.CopyResult{}, err
	}
	for _, m := range msgs {
		res.DestUIDs = append(res.DestUIDs, m.uid)
	}
	return res, nil
}

// sameDevice reports whether a file and a directory are on the same
// filesystem (a hard link between them can work).
func sameDevice(file, dir string) bool {
	a, err1 := os.Stat(file)
	b, err2 := os.Stat(dir)
	if err1 != nil || err2 != nil {
		return true // let the link report the problem
	}
	return devOf(a) == devOf(b)
}

// copyFile copies a u.N file into a temporary file of this mailbox.
func (h *hub) copyFile(src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("sdbox: %w", store.ErrNoSuchMessage)
		}
		return "", fmt.Errorf("sdbox: %w", err)
	}
	defer in.Close()
	tmp := filepath.Join(h.dir, fmt.Sprintf(".temp.%s.%d.copy.%d", h.s.host, os.Getpid(), h.s.seq.Add(1)))
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("sdbox: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil && !h.s.opts.NoSync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("sdbox: copy message: %w", err)
	}
	h.s.chown(tmp)
	return tmp, nil
}
