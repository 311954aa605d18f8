package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

func testConcurrentAppends(t *testing.T, o Opener) {
	s := o.New(t)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	uids := make(chan uint32, workers*each)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mb, err := s.OpenMailbox(ctx(t), store.Inbox, store.OpenOptions{})
			if err != nil {
				errs <- err
				return
			}
			defer mb.Close()
			var last uint32
			for i := 0; i < each; i++ {
				res, err := mb.Append(ctx(t), strings.NewReader(testMessage(w*100+i)), store.AppendOptions{})
				if err != nil {
					errs <- err
					return
				}
				if res.UID <= last {
					errs <- fmt.Errorf("worker %d: UID %d after %d", w, res.UID, last)
					return
				}
				last = res.UID
				uids <- res.UID
			}
		}(w)
	}
	wg.Wait()
	close(uids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for u := range uids {
		if seen[u] {
			t.Fatalf("UID %d given twice", u)
		}
		seen[u] = true
	}
	mb := openBox(t, s, store.Inbox, false)
	list := infos(t, mb)
	if len(list) != workers*each {
		t.Fatalf("%d messages, want %d", len(list), workers*each)
	}
	for i, mi := range list {
		if !seen[mi.UID] || (i > 0 && mi.UID <= list[i-1].UID) {
			t.Fatalf("listing %v not ascending or unknown UID", uidsOf(list))
		}
	}
}

// waitNotify waits for a signal on mb's Notify channel.
func waitNotify(t *testing.T, mb store.Mailbox) {
	t.Helper()
	select {
	case <-mb.Notify():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10s")
	}
}

func testNotifications(t *testing.T, o Opener) {
	s := o.New(t)
	a := openBox(t, s, store.Inbox, false)
	b := openBox(t, s, store.Inbox, false)
	if ch, err := b.Poll(ctx(t)); err != nil || len(ch) != 0 {
		t.Fatalf("initial poll %v %v", ch, err)
	}
	u1 := appendMsg(t, a, testMessage(1), store.Flags{})
	waitNotify(t, b)
	u2 := appendMsg(t, a, testMessage(2), store.Flags{})
	if _, _, err := a.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsAdd, store.Flags{System: store.Seen | store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Expunge(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	u3 := appendMsg(t, a, testMessage(3), store.Flags{System: store.Flagged})
	changes, err := b.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%d:%d", c.Kind, c.UID))
	}
	want := []string{
		fmt.Sprintf("%d:%d", store.ChangeNew, u1), fmt.Sprintf("%d:%d", store.ChangeNew, u2),
		fmt.Sprintf("%d:%d", store.ChangeFlags, u1), fmt.Sprintf("%d:%d", store.ChangeExpunge, u1),
		fmt.Sprintf("%d:%d", store.ChangeNew, u3),
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("changes %v, want %v", got, want)
	}
	if changes[4].Message.Flags.System != store.Flagged || changes[2].Message.Flags.System != store.Seen|store.Deleted {
		t.Fatalf("change payloads %+v", changes)
	}
	// The acting handle does not see its own changes again.
	if own, err := a.Poll(ctx(t)); err != nil || len(own) != 0 {
		t.Fatalf("own changes reported: %+v %v", own, err)
	}
	if again, _ := b.Poll(ctx(t)); len(again) != 0 {
		t.Fatalf("changes reported twice: %+v", again)
	}
	if l := uidsOf(infos(t, b)); !sameUIDs(l, []uint32{u2, u3}) {
		t.Fatalf("b sees %v", l)
	}
	// A handle on another mailbox hears nothing.
	if err := s.CreateMailbox(ctx(t), "Other", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := openBox(t, s, "Other", false)
	appendMsg(t, a, testMessage(4), store.Flags{})
	if ch, _ := other.Poll(ctx(t)); len(ch) != 0 {
		t.Fatalf("other mailbox got %+v", ch)
	}
}

// patterned yields a deterministic pseudo-random byte stream of n bytes
// (every byte value, so bare CR, bare LF, NUL and 8-bit bytes), built
// from a 64 KiB block that shifts on each pass so the stream never
// repeats exactly.
type patterned struct {
	n, off int64
	block  []byte
}

func newPatterned(n int64, seed uint32) *patterned {
	b := make([]byte, 64<<10+251)
	x := seed
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return &patterned{n: n, block: b}
}

func (p *patterned) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	const span = 64 << 10
	n := 0
	for n < len(b) {
		pass := (p.off + int64(n)) / span
		in := (p.off + int64(n)) % span
		start := int(pass%251) + int(in)
		n += copy(b[n:], p.block[start:int(pass%251)+span])
	}
	p.off += int64(n)
	return n, nil
}

// crlfSize is the RFC822.SIZE of r's bytes (bare LF counted as CRLF).
func crlfSize(r io.Reader) int64 {
	buf := make([]byte, 256<<10)
	var n int64
	prevCR := false
	for {
		k, err := r.Read(buf)
		chunk := buf[:k]
		n += int64(k)
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			if (i == 0 && !prevCR) || (i > 0 && chunk[i-1] != '\r') {
				n++
			}
			prevCR = false
			chunk = chunk[i+1:]
		}
		if k > 0 {
			prevCR = buf[k-1] == '\r'
		}
		if err != nil {
			return n
		}
	}
}

func testBytesExact(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	body := "Subject: bytes\r\nX-8bit: \xe9\xff\r\n\r\nbare CR\rhere\nbare LF\r\nNUL\x00inside\r\n\xfe\xfd 8-bit\r\nno final newline"
	uid := appendMsg(t, mb, body, store.Flags{})
	if got := readAll(t, mb, uid); string(got) != body {
		t.Fatalf("read back %q", got)
	}
	list := infos(t, mb)
	crlf, _ := store.CRLFSize(strings.NewReader(body))
	if list[0].Size != crlf {
		t.Fatalf("Size %d, want %d (CRLF size)", list[0].Size, crlf)
	}
	r, err := mb.Open(ctx(t), uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(body)) {
		t.Fatalf("reader Size %d, want %d", r.Size(), len(body))
	}
	buf := make([]byte, 7)
	if _, err := r.ReadAt(buf, 3); err != nil || string(buf) != body[3:10] {
		t.Fatalf("ReadAt %q %v", buf, err)
	}
	if _, err := r.Seek(int64(strings.Index(body, "NUL")), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if !bytes.HasPrefix(rest, []byte("NUL\x00inside")) {
		t.Fatalf("after seek %q", rest)
	}
	// A pseudo-random 1 MiB message: every byte value.
	big := newPatterned(1<<20, 7)
	h1 := sha256.New()
	uid2 := appendMsgReader(t, mb, io.TeeReader(big, h1))
	h2 := sha256.New()
	r2, err := mb.Open(ctx(t), uid2)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	io.Copy(h2, r2)
	if !bytes.Equal(h1.Sum(nil), h2.Sum(nil)) {
		t.Fatal("1 MiB binary message differs")
	}
}

func appendMsgReader(t *testing.T, mb store.Mailbox, r io.Reader) uint32 {
	t.Helper()
	res, err := mb.Append(ctx(t), r, store.AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res.UID
}

func testLargeMessage(t *testing.T, o Opener) {
	if testing.Short() {
		t.Skip("50 MiB message skipped in -short")
	}
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	const size = 50 << 20
	h1 := sha256.New()
	src := newPatterned(size, 99)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	uid := appendMsgReader(t, mb, io.TeeReader(src, h1))
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Errorf("appending a %d-byte message allocated %d bytes: not streamed", size, alloc)
	}
	r, err := mb.Open(ctx(t), uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != size {
		t.Fatalf("size %d", r.Size())
	}
	h2 := sha256.New()
	n, err := io.Copy(h2, r)
	if err != nil || n != size || !bytes.Equal(h1.Sum(nil), h2.Sum(nil)) {
		t.Fatalf("50 MiB message differs (read %d, %v)", n, err)
	}
	crlf := crlfSize(newPatterned(size, 99))
	if got := infos(t, mb); got[0].Size != crlf {
		t.Fatalf("Size %d, want %d", got[0].Size, crlf)
	}
}

func testCondStore(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	u1 := appendMsg(t, mb, testMessage(1), store.Flags{})
	u2 := appendMsg(t, mb, testMessage(2), store.Flags{})
	list := infos(t, mb)
	ms1, ms2 := list[0].ModSeq, list[1].ModSeq
	st0, _ := mb.Status(ctx(t))
	if st0.HighestModSeq < ms1 || st0.HighestModSeq < ms2 {
		t.Fatalf("HIGHESTMODSEQ %d below message modseqs %d %d", st0.HighestModSeq, ms1, ms2)
	}
	upd, failed, err := mb.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsAdd, store.Flags{System: store.Seen}, 0)
	if err != nil || len(upd) != 1 || upd[0].ModSeq <= st0.HighestModSeq || len(failed) != 0 {
		t.Fatalf("store: %+v %v %v", upd, failed, err)
	}
	newMS := upd[0].ModSeq
	// UNCHANGEDSINCE below u1's modseq fails u1, lets u2 through.
	upd, failed, err = mb.SetFlags(ctx(t), store.UIDSetOf(u1, u2), store.FlagsAdd, store.Flags{System: store.Flagged}, newMS-1)
	if err != nil {
		t.Fatal(err)
	}
	if !failed.Contains(u1) || failed.Contains(u2) || len(upd) != 1 || upd[0].UID != u2 || upd[0].ModSeq <= newMS {
		t.Fatalf("unchangedsince: upd %+v failed %v", upd, failed)
	}
	upd, failed, err = mb.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsAdd, store.Flags{System: store.Flagged}, newMS)
	if err != nil || len(failed) != 0 || len(upd) != 1 {
		t.Fatalf("unchangedsince equal: %+v %v %v", upd, failed, err)
	}
	// FLAGS with the same flags is reported with the unchanged modseq.
	cur := infos(t, mb)[0]
	upd, _, err = mb.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsReplace, cur.Flags, 0)
	if err != nil || len(upd) != 1 || upd[0].ModSeq != cur.ModSeq {
		t.Fatalf("no-op replace: %+v %v (modseq was %d)", upd, err, cur.ModSeq)
	}
	st1, _ := mb.Status(ctx(t))
	if st1.HighestModSeq < upd[0].ModSeq || st1.HighestModSeq <= st0.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ %d", st1.HighestModSeq)
	}
	// Another handle sees the modseqs.
	b := openBox(t, s, store.Inbox, true)
	for _, mi := range infos(t, b) {
		if mi.ModSeq > st1.HighestModSeq {
			t.Fatalf("modseq %d above HIGHESTMODSEQ %d", mi.ModSeq, st1.HighestModSeq)
		}
	}
}

func testReadOnly(t *testing.T, o Opener) {
	s := o.New(t)
	rw := openBox(t, s, store.Inbox, false)
	uid := appendMsg(t, rw, testMessage(1), store.Flags{})
	ro := openBox(t, s, store.Inbox, true)
	c := ctx(t)
	if _, err := ro.Append(c, strings.NewReader(testMessage(2)), store.AppendOptions{}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("append: %v", err)
	}
	if _, _, err := ro.SetFlags(c, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Seen}, 0); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("store: %v", err)
	}
	if _, err := ro.Expunge(c, nil); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("expunge: %v", err)
	}
	if _, err := ro.Move(c, store.UIDSetOf(uid), store.Inbox); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("move: %v", err)
	}
	if got := string(readAll(t, ro, uid)); got != testMessage(1) {
		t.Fatalf("read-only read %q", got)
	}
	if err := s.CreateMailbox(c, "Copies", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := ro.Copy(c, store.UIDSetOf(uid), "Copies"); err != nil || len(res.DestUIDs) != 1 {
		t.Fatalf("copy from read-only: %+v %v", res, err)
	}
	if len(infos(t, ro)) != 1 {
		t.Fatal("read-only view changed")
	}
}

func testStatus(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	mb := openBox(t, s, store.Inbox, false)
	appendMsg(t, mb, "a\r\n", store.Flags{System: store.Seen})
	appendMsg(t, mb, "bb\n", store.Flags{System: store.Deleted})
	appendMsg(t, mb, "ccc\r\n", store.Flags{})
	st, err := s.Status(c, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 3 || st.Unseen != 2 || st.Deleted != 1 || st.Size != 3+4+5 || st.UIDNext <= 3 || st.UIDValidity == 0 || st.HighestModSeq == 0 {
		t.Fatalf("status %+v", st)
	}
	hst, _ := mb.Status(c)
	if hst.Messages != st.Messages || hst.Unseen != st.Unseen || hst.Size != st.Size || hst.UIDNext != st.UIDNext {
		t.Fatalf("handle status %+v vs store %+v", hst, st)
	}
	q, err := s.Quota(c)
	if err != nil || q.MessagesUsed != 3 || q.StorageUsed < 11 {
		t.Fatalf("quota %+v %v", q, err)
	}
}
