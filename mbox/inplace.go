package mbox

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// In-place flag updates, as Dovecot makes them: a message's Status,
// X-Status and X-Keywords fields are rewritten where they are when the
// new ones fit in the room the old ones took (X-Keywords is written with
// padding for this), so that a flag change costs a few bytes written
// rather than a new copy of the mailbox. Only the hidden fields change:
// every message's visible bytes stay where they are, so open readers are
// not disturbed. A change that does not fit (a message written by
// another program without padding, a keyword the X-IMAPbase list lacks)
// falls back to the rewrite.

// maxInPlaceRun bounds the hidden-field run rewritten in place.
const maxInPlaceRun = 8 << 10

// inPlace is one message's hidden-field run rewritten.
type inPlace struct {
	off  int64
	data []byte
}

// updateInPlace writes the new flags of changed (records carrying their
// current raw positions) into f where they are. It reports false, having
// written nothing, when some message has no room.
func (b *box) updateInPlace(f *os.File, changed []*msg) (bool, error) {
	if b.needWrite || len(changed) == 0 {
		return false, nil
	}
	for _, m := range changed {
		for _, k := range m.flags.Keywords {
			if !containsFold(b.baseKeywords, k) {
				return false, nil
			}
		}
	}
	writes := make([]inPlace, 0, len(changed))
	for _, m := range changed {
		r := m.raw
		if r.more != nil || r.hid.n == 0 || r.hid.n > maxInPlaceRun {
			return false, nil
		}
		old := make([]byte, r.hid.n)
		if _, err := f.ReadAt(old, r.hid.off); err != nil {
			return false, err
		}
		nw, ok := rewriteHidden(old, m.flags)
		if !ok {
			return false, nil
		}
		writes = append(writes, inPlace{off: r.hid.off, data: nw})
	}
	before, err := f.Stat()
	if err != nil {
		return false, err
	}
	for _, w := range writes {
		if _, err := f.WriteAt(w.data, w.off); err != nil {
			return false, err
		}
	}
	// Dovecot notices a change in place by the file's mtime in whole
	// seconds (its size stays): within the second of the last change
	// (or behind it, when the last was moved on already), the mtime is
	// moved on to the next second.
	if after, err := f.Stat(); err == nil && after.ModTime().Unix() <= before.ModTime().Unix() {
		st, _ := after.Sys().(*syscall.Stat_t)
		atime := unix.NsecToTimeval(time.Now().UnixNano())
		if st != nil {
			atime = unix.NsecToTimeval(st.Atim.Nano())
		}
		mtime := unix.NsecToTimeval((before.ModTime().Unix() + 1) * 1e9)
		if err := unix.Futimes(int(f.Fd()), []unix.Timeval{atime, mtime}); err != nil {
			return false, err
		}
	}
	if !b.s.opts.NoSync {
		if err := f.Sync(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// rewriteHidden returns run (complete header lines of hidden fields)
// with Status, X-Status and X-Keywords set for flags, padded with spaces
// in X-Keywords to the length of run; ok is false when they do not fit
// or run has no X-Keywords line to pad.
func rewriteHidden(run []byte, flags store.Flags) ([]byte, bool) {
	if len(run) == 0 || run[len(run)-1] != '\n' {
		return nil, false
	}
	lines := bytes.SplitAfter(run, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	status := "Status: O\n"
	if flags.System&store.Seen != 0 {
		status = "Status: RO\n"
	}
	xs := xStatus(flags.System)
	kw := "X-Keywords:"
	for _, k := range flags.Keywords {
		kw += " " + k
	}
	var out [][]byte
	kwAt, haveStatus, haveXStatus := -1, false, false
	for _, l := range lines {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			return nil, false // a folded field: leave it to the rewrite
		}
		switch strings.ToLower(string(name)) {
		case "status":
			haveStatus = true
			out = append(out, []byte(status))
		case "x-status":
			haveXStatus = true
			if xs != "" {
				out = append(out, []byte("X-Status: "+xs+"\n"))
			}
		case "x-keywords":
			if kwAt >= 0 {
				return nil, false
			}
			kwAt = len(out)
			out = append(out, nil) // filled below
		default:
			out = append(out, l)
		}
	}
	if kwAt < 0 {
		return nil, false
	}
	if !haveStatus {
		out = append(out[:kwAt+1], out[kwAt:]...)
		out[kwAt] = []byte(status)
		kwAt++
	}
	if !haveXStatus && xs != "" {
		out = append(out, []byte("X-Status: "+xs+"\n"))
	}
	n := len(kw) + 1
	for i, l := range out {
		if i != kwAt {
			n += len(l)
		}
	}
	if n > len(run) {
		return nil, false
	}
	out[kwAt] = []byte(kw + strings.Repeat(" ", len(run)-n) + "\n")
	res := bytes.Join(out, nil)
	return res, len(res) == len(run)
}

func containsFold(list []string, k string) bool {
	for _, x := range list {
		if strings.EqualFold(x, k) {
			return true
		}
	}
	return false
}
