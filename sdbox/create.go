package sdbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// ensureMailbox creates name's dbox-Mails (and transaction log) if
// missing.
func (s *Store) ensureMailbox(name string) error {
	_, dir, err := s.resolve(name)
	if err != nil {
		return err
	}
	if err := s.mkdirAll(dir); err != nil {
		return err
	}
	md := mailDir(dir)
	if err := s.mkdir(md); err != nil {
		return err
	}
	return s.ensureLog(md)
}

// ensureLog gives a dbox-Mails directory a transaction log when it has
// neither log nor index: a new mailbox, or one whose index files were
// lost. u.N files already there are taken in with their UIDs, as
// doveadm force-resync would (FORMATS.md 1.7): nothing is left invisible.
func (s *Store) ensureLog(md string) error {
	if _, err := os.Stat(filepath.Join(md, logName)); err == nil {
		return nil
	}
	var data []byte
	if idx, err := os.ReadFile(filepath.Join(md, indexName)); err == nil {
		// An index without a log (as FORMATS.md 1.8's minimal writer
		// leaves it): start a log that continues it, as Dovecot does.
		st, info, _ := readIndex(idx)
		if st == nil {
			return fmt.Errorf("sdbox: %s: %w", md, errBadIndex)
		}
		now := uint32(time.Now().Unix())
		data = logHeader{IndexID: info.IndexID, FileSeq: info.LogSeq + 1, CreateStamp: now, InitialModseq: max(st.modseq, 1)}.bytes()
	} else {
		uids := listUIDs(md)
		if len(uids) > 0 {
			s.opts.logger().Warn("sdbox: mailbox without index: taking in its message files", "dir", md, "messages", len(uids))
		}
		data = newLogBytes(s.newUIDValidity(0), newGUID(), uids, time.Now())
	}
	tmp := filepath.Join(md, fmt.Sprintf("%s.newlock.%d.%d", logName, os.Getpid(), s.seq.Add(1)))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	defer os.Remove(tmp)
	if !s.opts.NoSync {
		if f, err := os.OpenFile(tmp, os.O_RDWR, 0); err == nil {
			f.Sync()
			f.Close()
		}
	}
	s.chown(tmp)
	// link, unlike rename, leaves a log someone else made meanwhile alone.
	if err := os.Link(tmp, filepath.Join(md, logName)); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("sdbox: create log: %w", err)
	}
	return s.syncDir(md)
}

// listUIDs returns the UIDs of the u.N files in a dbox-Mails directory,
// ascending.
func listUIDs(md string) []uint32 {
	entries, _ := os.ReadDir(md)
	var uids []uint32
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), "u."); ok {
			if v, err := strconv.ParseUint(n, 10, 32); err == nil && v > 0 && strconv.FormatUint(v, 10) == n {
				uids = append(uids, uint32(v))
			}
		}
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids
}

// newLogBytes is a new dovecot.index.log as Dovecot starts one for a new
// sdbox mailbox: the dbox-hdr extension with the mailbox GUID, the
// UIDVALIDITY, and appends of existing messages.
func newLogBytes(uidValidity uint32, guid [16]byte, uids []uint32, now time.Time) []byte {
	stamp := uint32(now.Unix())
	h := logHeader{IndexID: stamp, FileSeq: 1, CreateStamp: stamp, InitialModseq: 1}
	t := newRawTx()
	t.add(recExtIntro, extIntroBody("dbox-hdr", 24, 0, 0, 0))
	dh := make([]byte, 24)
	copy(dh[4:], guid[:])
	t.add(recExtHdrUpdate|recExternal, hdrUpdateBody(0, dh))
	t.add(recHeaderUpdate|recExternal, hdrUpdateBody(hdrUIDValidity, le32(uidValidity)))
	t.add(recHeaderUpdate|recExternal, hdrUpdateBody(hdrLog2RotateTime, le32(0xffffffff)))
	if len(uids) > 0 {
		var b []byte
		for _, u := range uids {
			b = binary.LittleEndian.AppendUint32(b, u)
			b = binary.LittleEndian.AppendUint32(b, 0)
		}
		t.add(recAppend|recExternal, b)
	}
	return append(h.bytes(), t.bytes()...)
}

// CreateMailbox implements store.Store.
func (s *Store) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	name, dir, err := s.resolve(name)
	if err != nil {
		return err
	}
	if name == store.Inbox || isDir(mailDir(dir)) {
		return fmt.Errorf("sdbox: %q: %w", name, store.ErrMailboxExists)
	}
	if err := s.mkdirAll(dir); err != nil {
		return err
	}
	md := mailDir(dir)
	if err := os.Mkdir(md, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("sdbox: %q: %w", name, store.ErrMailboxExists)
		}
		return fmt.Errorf("sdbox: %w", err)
	}
	s.chown(md)
	if err := s.ensureLog(md); err != nil {
		return err
	}
	if opts.SpecialUse != "" {
		if !store.IsSpecialUse(opts.SpecialUse) {
			return fmt.Errorf("sdbox: special use %q: %w", opts.SpecialUse, store.ErrNotAllowed)
		}
		return s.setSpecialUse(ctx, name, opts.SpecialUse)
	}
	return nil
}
