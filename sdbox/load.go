package sdbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// File names inside dbox-Mails.
const (
	indexName = "dovecot.index"
	logName   = "dovecot.index.log"
	log2Name  = "dovecot.index.log.2"
)

// logPos is where a state stands in the transaction log.
type logPos struct {
	seq    uint32 // file_seq of the log file
	off    int    // offset of the next record to read
	modseq uint64 // modseq counter at off
}

// logData is a log file read into memory.
type logData struct {
	hdr  logHeader
	data []byte // the whole file
	ino  uint64
}

// readLog reads a whole log file; a missing file is (nil, nil).
func readLog(path string) (*logData, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxLogSize {
		return nil, fmt.Errorf("%w: %s is %d bytes", errBadLog, path, fi.Size())
	}
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	data = data[:n]
	h, err := parseLogHeader(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l := &logData{hdr: h, data: data}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		l.ino = st.Ino
	}
	return l, nil
}

var errStop = errors.New("stop")

// modseqAt returns the log's modseq counter at offset off.
func (l *logData) modseqAt(off int) uint64 {
	ms := l.hdr.InitialModseq
	walkLog(l.data, 0, l.hdr.HdrSize, func(r logRecord) error {
		if r.Off >= off {
			return errStop
		}
		ms += modseqStep(r)
		return nil
	})
	return ms
}

// replay applies the log's records from off on to st; it returns where
// it stopped and the damage that stopped it early.
func (l *logData) replay(st *state, off int, emit changeFn) (int, error) {
	if off < l.hdr.HdrSize {
		off = l.hdr.HdrSize
	}
	return walkLog(l.data, 0, off, func(r logRecord) error {
		st.apply(r, emit)
		return nil
	})
}

// loaded is a mailbox read from disk.
type loaded struct {
	st     *state
	pos    logPos
	ino    uint64  // inode of dovecot.index.log
	damage []error // what could not be trusted
	// indexLogSeq is the log dovecot.index continues with (0: no
	// readable index).
	indexLogSeq uint32
	// raw holds, for an index writer, the records of dovecot.index by
	// UID (their extension parts are copied into the new index).
	raw map[uint32][]byte
}

// loadState reads dovecot.index (if any) and replays the transaction
// log(s) as FORMATS.md 1.6 describes. It fails only when neither the
// index nor the log can be read at all.
func loadState(dir string) (*loaded, error) { return loadStateFor(dir, false) }

// loadStateFor is loadState; forWrite also keeps what an index writer
// needs: the index's records and the expunge requests in the log.
func loadStateFor(dir string, forWrite bool) (*loaded, error) {
	out := &loaded{}
	var idx indexInfo
	var st *state
	if data, err := os.ReadFile(filepath.Join(dir, indexName)); err == nil {
		s, info, derr := readIndex(data)
		if derr != nil {
			out.damage = append(out.damage, fmt.Errorf("%s: %w", indexName, derr))
		}
		st, idx = s, info
		if derr == nil {
			out.indexLogSeq = info.LogSeq
		}
		if forWrite && derr == nil {
			out.raw = indexRecords(data)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	lg, err := readLog(filepath.Join(dir, logName))
	if err != nil {
		out.damage = append(out.damage, err)
		lg = nil
	}
	if st == nil && lg == nil && len(out.damage) == 0 {
		return nil, os.ErrNotExist
	}
	indexLost := len(out.damage) > 0
	if st == nil && lg == nil {
		// Nothing to go by but the files: a read-only view of them.
		st = &state{}
		st.setU32(hdrNextUID, 1)
		if fi, err := os.Stat(dir); err == nil {
			st.setU32(hdrUIDValidity, uint32(fi.ModTime().Unix()))
		}
		out.st = st
		out.takeInFiles(dir)
		return out, nil
	}
	if st == nil {
		st = &state{}
		st.setU32(hdrNextUID, 1)
		idx = indexInfo{}
	}
	if forWrite {
		st.expReq = new([][2]uint32)
	}
	defer func() {
		if indexLost && out.st != nil {
			out.takeInFiles(dir)
		}
	}()
	if lg == nil {
		// Index only (Dovecot created the log elsewhere or it was lost).
		if st.modseq == 0 {
			st.modseq = 1
		}
		out.st = st
		out.pos = logPos{seq: idx.LogSeq, off: int(idx.HeadOffset), modseq: st.modseq}
		return out, nil
	}
	start := lg.hdr.HdrSize
	modseq := lg.hdr.InitialModseq
	switch {
	case idx.LogSeq == 0:
		// No index: the whole log.
	case lg.hdr.FileSeq == idx.LogSeq:
		start = max(int(idx.HeadOffset), lg.hdr.HdrSize)
		modseq = lg.modseqAt(start)
	default:
		l2, err := readLog(filepath.Join(dir, log2Name))
		if err == nil && l2 != nil && l2.hdr.FileSeq == idx.LogSeq {
			from := max(int(idx.HeadOffset), l2.hdr.HdrSize)
			st.modseq = max(st.modseq, l2.modseqAt(from))
			if _, err := l2.replay(st, from, nil); err != nil {
				out.damage = append(out.damage, fmt.Errorf("%s: %w", log2Name, err))
			}
			modseq = max(modseq, st.modseq)
		} else if lg.hdr.FileSeq < idx.LogSeq {
			out.damage = append(out.damage, fmt.Errorf("%w: log sequence %d behind index %d", errBadLog, lg.hdr.FileSeq, idx.LogSeq))
			start = len(lg.data)
		} else if lg.hdr.PrevFileSeq != 0 && (lg.hdr.PrevFileSeq != idx.LogSeq || idx.HeadOffset < lg.hdr.PrevOffset) {
			// A fresh log (no previous file) or one that follows the
			// index's end loses nothing.
			out.damage = append(out.damage, fmt.Errorf("%w: changes between log %d and %d lost", errBadLog, idx.LogSeq, lg.hdr.FileSeq))
		}
	}
	st.modseq = max(st.modseq, modseq)
	end, err := lg.replay(st, start, nil)
	if err != nil {
		out.damage = append(out.damage, fmt.Errorf("%s: %w", logName, err))
	} else if end < len(lg.data) {
		out.damage = append(out.damage, fmt.Errorf("%w: %s ends with %d bytes of an incomplete transaction (ignored)", errBadLog, logName, len(lg.data)-end))
	}
	out.st = st
	out.pos = logPos{seq: lg.hdr.FileSeq, off: end, modseq: st.modseq}
	out.ino = lg.ino
	return out, nil
}

// takeInFiles adds the u.N files the state does not know, without flags,
// when the index could not be read: the messages it held stay visible
// (as after Dovecot's force-resync), nothing is lost or deleted.
func (l *loaded) takeInFiles(dir string) {
	n := 0
	for _, uid := range listUIDs(dir) {
		i := l.st.find(uid)
		if i < len(l.st.msgs) && l.st.msgs[i].uid == uid {
			continue
		}
		l.st.msgs = append(l.st.msgs, message{})
		copy(l.st.msgs[i+1:], l.st.msgs[i:])
		l.st.msgs[i] = message{uid: uid, modseq: 1}
		if uid >= l.st.nextUID() {
			l.st.setU32(hdrNextUID, uid+1)
		}
		n++
	}
	if n > 0 {
		l.damage = append(l.damage, fmt.Errorf("%w: %d message files taken in without their flags", errBadIndex, n))
	}
}
