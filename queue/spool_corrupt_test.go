package queue

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// spoolSamples builds, in a scratch spool, a deferred message file and a
// segment holding four messages with outcome, warning and removal
// records, and returns their bytes.
func spoolSamples(t testing.TB) (deferredID string, deferred []byte, segment []byte) {
	t.Helper()
	dir := t.TempDir()
	s, _, err := openSpool(spoolOptions{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	m := spoolPut(t, s, spoolTestEnvelope("d@example.jp", "x@example.jp", "y@example.jp"), "Subject: deferred\r\n\r\nbody\r\n")
	s.record(m, 0, Deferred, "4.4.1 first")
	s.deferTo(m, time.Now().Add(time.Hour))
	s.record(m, 0, Sent, "")
	s.record(m, 1, Deferred, "4.4.1 second")
	s.markWarned(m)
	deferredID = m.env.ID
	var segMsgs []*qmsg
	for i := 0; i < 4; i++ {
		segMsgs = append(segMsgs, spoolPut(t, s, spoolTestEnvelope("s@example.jp", "a@example.jp", "b@example.jp"), strings.Repeat("segment body\r\n", i+1)))
	}
	s.record(segMsgs[0], 1, Bounced, "5.1.1 unknown")
	s.record(segMsgs[2], 0, Deferred, "4.4.1 later")
	s.remove(segMsgs[1])
	s.markWarned(segMsgs[3])
	s.record(segMsgs[3], 0, Sent, "")
	seg := segMsgs[0].seg.path
	s.closeFiles()
	deferred, err = os.ReadFile(filepath.Join(dir, "deferred", deferredID))
	if err != nil {
		t.Fatal(err)
	}
	segment, err = os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	return deferredID, deferred, segment
}

// spoolExpectedAt is what recovery must find in a file cut at k: the
// messages and states of the records that end at or before k, and where
// the good part ends.
func spoolExpectedAt(t testing.TB, data []byte, k int, queue string) (map[string]*qmsg, int64) {
	t.Helper()
	live := map[int64]*qmsg{}
	out := map[string]*qmsg{}
	var good int64
	_, err := scanRecords(memFile(data), int64(len(data)), func(r *spoolRecord) error {
		if r.end > int64(k) {
			return spoolErrStop
		}
		good = r.end
		switch r.typ {
		case recMessage:
			m := recoveredMsg(r, queue)
			live[r.off] = m
			out[m.env.ID] = m
		case recRemoved:
			delete(out, live[r.moff].env.ID)
		default:
			spoolApplyMark(live[r.moff], r)
		}
		return nil
	})
	if err != nil && err != spoolErrStop {
		t.Fatalf("the sample does not scan: %v", err)
	}
	return out, good
}

// spoolContents maps the ID of every message record in data to its
// content, removed or not.
func spoolContents(t testing.TB, data []byte) map[string]string {
	out := map[string]string{}
	_, err := scanRecords(memFile(data), int64(len(data)), func(r *spoolRecord) error {
		if r.typ == recMessage {
			out[r.env.ID] = string(data[r.coff : r.coff+r.csize])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the sample does not scan: %v", err)
	}
	return out
}

var spoolErrStop = spoolErrFixed("stop")

type spoolErrFixed string

func (e spoolErrFixed) Error() string { return string(e) }

// spoolScratchDir is a directory for tests that create and delete thousands
// of small files and test no durability: in /dev/shm when it is there
// (on a disk mounted with discard, each delete can take milliseconds),
// else t.TempDir().
func spoolScratchDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "yubin-spool-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// spoolRecoverDir writes data as file queue/name of a new spool directory and
// opens the spool there.
func spoolRecoverDir(t *testing.T, base, queue, name string, data []byte) (string, *spool, map[string]*qmsg, *spoolLog) {
	t.Helper()
	dir := filepath.Join(base, "q")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, queue), 0o700)
	if err := os.WriteFile(filepath.Join(dir, queue, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	lb := &spoolLog{}
	s, msgs, err := openSpool(spoolOptions{Dir: dir, NoSync: true, Logger: lb.logger()})
	if err != nil {
		t.Fatalf("openSpool: %v", err)
	}
	return dir, s, spoolByID(msgs), lb
}

// spoolSame reports whether recovered message got is want: envelope,
// content and per-recipient state.
func spoolSame(t *testing.T, s *spool, got, want *qmsg, wantContent string) bool {
	if !reflect.DeepEqual(got.env, want.env) || !reflect.DeepEqual(got.done, want.done) ||
		!reflect.DeepEqual(got.reason, want.reason) || got.warned != want.warned || got.size != want.size {
		return false
	}
	return spoolContent(t, s, got) == wantContent
}

// TestSpoolCorruptDeferredCut cuts a deferred message file at every
// offset: recovery never panics; while the message record is incomplete
// the file goes to corrupt/ (and that is logged); after it, the message
// comes back with the outcomes whose records are whole, and the torn
// end is cut off.
func TestSpoolCorruptDeferredCut(t *testing.T) {
	id, data, _ := spoolSamples(t)
	base := spoolScratchDir(t)
	full, _ := spoolExpectedAt(t, data, len(data), queueDeferred)
	body := "Subject: deferred\r\n\r\nbody\r\n"
	for k := 0; k <= len(data); k++ {
		want, good := spoolExpectedAt(t, data, k, queueDeferred)
		dir, s, got, lb := spoolRecoverDir(t, base, queueDeferred, id, data[:k])
		switch {
		case len(want) == 0:
			if len(got) != 0 {
				t.Fatalf("cut at %d: recovered %d messages from a file without a whole message", k, len(got))
			}
			if _, err := os.Stat(filepath.Join(dir, "corrupt", "deferred-"+id)); err != nil {
				t.Fatalf("cut at %d: not moved to corrupt/: %v", k, err)
			}
			if !strings.Contains(lb.String(), "corrupt/") {
				t.Fatalf("cut at %d: nothing logged", k)
			}
		default:
			if len(got) != 1 || !spoolSame(t, s, got[id], want[id], body) {
				t.Fatalf("cut at %d: recovered %v, want %s", k, got, spoolDescribe(want[id]))
			}
			fi, err := os.Stat(filepath.Join(dir, "deferred", id))
			if err != nil || fi.Size() != good {
				t.Fatalf("cut at %d: file of %v bytes (%v), want %d", k, fi.Size(), err, good)
			}
			if good != int64(k) && !strings.Contains(lb.String(), "torn") {
				t.Fatalf("cut at %d: the torn end was not logged", k)
			}
		}
		s.close()
	}
	if m := full[id]; !m.done[0] || m.reason[1] != "4.4.1 second" || !m.warned {
		t.Fatalf("the sample's final state is wrong: %s", spoolDescribe(m))
	}
}

// TestSpoolCorruptSegmentCut cuts a segment at every offset: recovery
// returns the messages whose records are whole with the outcomes whose
// records are whole, copies a torn end to corrupt/ and cuts it off, and
// a record appended afterwards is read back.
func TestSpoolCorruptSegmentCut(t *testing.T) {
	_, _, data := spoolSamples(t)
	base := spoolScratchDir(t)
	full, _ := spoolExpectedAt(t, data, len(data), queueIncoming)
	contents := spoolContents(t, data)
	if len(full) != 3 {
		t.Fatalf("the sample has %d live messages, want 3", len(full))
	}
	for k := 0; k <= len(data); k++ {
		want, good := spoolExpectedAt(t, data, k, queueIncoming)
		dir, s, got, lb := spoolRecoverDir(t, base, queueIncoming, "seg-0000000001", data[:k])
		if len(got) != len(want) {
			t.Fatalf("cut at %d: recovered %d messages, want %d", k, len(got), len(want))
		}
		for id, w := range want {
			if got[id] == nil || !spoolSame(t, s, got[id], w, contents[id]) {
				t.Fatalf("cut at %d: %s recovered wrong or not at all", k, id)
			}
		}
		if good != int64(k) {
			tails, _ := filepath.Glob(filepath.Join(dir, "corrupt", "seg-0000000001.tail-*"))
			if len(tails) != 1 || !strings.Contains(lb.String(), "torn") {
				t.Fatalf("cut at %d: torn end not copied to corrupt/ (%v) or not logged", k, tails)
			}
		}
		// An outcome recorded now is read back after a reopen (every
		// fourth cut, to keep the test fast).
		for id, m := range got {
			if k%4 != 0 {
				break
			}
			if err := s.record(m, 1, Deferred, "after the cut"); err != nil {
				t.Fatal(err)
			}
			s.close()
			s2, msgs, err := openSpool(spoolOptions{Dir: dir, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			if m2 := spoolByID(msgs)[id]; m2 == nil || m2.reason[1] != "after the cut" {
				t.Fatalf("cut at %d: an outcome recorded after recovery was lost", k)
			}
			s = s2
			break
		}
		s.close()
	}
}

// TestSpoolCorruptFlip flips each byte of a deferred file and of a
// segment in turn: recovery never panics and never returns a message
// that is not one of the originals, byte for byte.
func TestSpoolCorruptFlip(t *testing.T) {
	id, deferred, segment := spoolSamples(t)
	base := spoolScratchDir(t)
	body := "Subject: deferred\r\n\r\nbody\r\n"
	for _, c := range []struct {
		queue, name string
		data        []byte
	}{{queueDeferred, id, deferred}, {queueIncoming, "seg-0000000001", segment}} {
		contents := spoolContents(t, c.data)
		origEnv := map[string]*Envelope{}
		scanRecords(memFile(c.data), int64(len(c.data)), func(r *spoolRecord) error {
			if r.typ == recMessage {
				origEnv[r.env.ID] = r.env
			}
			return nil
		})
		if c.queue == queueDeferred && contents[id] != body {
			t.Fatal("the sample's deferred message is wrong")
		}
		var recovered, lostAll int
		for i := range c.data {
			for _, x := range []byte{[]byte{0x01, 0x80, 0xff}[i%3]} {
				data := bytes.Clone(c.data)
				data[i] ^= x
				_, s, got, _ := spoolRecoverDir(t, base, c.queue, c.name, data)
				if len(got) == 0 {
					lostAll++
				}
				for gid, m := range got {
					o := origEnv[gid]
					if o == nil || !reflect.DeepEqual(m.env, o) || spoolContent(t, s, m) != contents[gid] {
						t.Fatalf("%s: byte %d ^ %#x: recovered a message that is not an original: %s", c.name, i, x, spoolDescribe(m))
					}
					recovered++
				}
				s.close()
			}
		}
		t.Logf("%s (%d bytes): %d one-byte flips; %d messages recovered intact, %d flips left nothing", c.queue, len(c.data), len(c.data), recovered, lostAll)
	}
}

// TestSpoolStrayFiles: temporary files of a crashed writer are removed,
// unknown names are left alone, an empty segment is deleted.
func TestSpoolStrayFiles(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"incoming", "deferred", "hold"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	os.WriteFile(filepath.Join(dir, "deferred", spoolTmpPrefix+"ABC-123"), []byte("yq partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "hold", "not a queue id"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "incoming", "seg-0000000007"), nil, 0o600)
	lb := &spoolLog{}
	s, msgs, err := openSpool(spoolOptions{Dir: dir, NoSync: true, Logger: lb.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if len(msgs) != 0 {
		t.Fatalf("%d messages from stray files", len(msgs))
	}
	if _, err := os.Stat(filepath.Join(dir, "deferred", spoolTmpPrefix+"ABC-123")); !os.IsNotExist(err) {
		t.Error("temporary file left")
	}
	if _, err := os.Stat(filepath.Join(dir, "hold", "not a queue id")); err != nil {
		t.Error("unknown file removed")
	}
	if _, err := os.Stat(filepath.Join(dir, "incoming", "seg-0000000007")); !os.IsNotExist(err) {
		t.Error("empty segment left")
	}
	// The next segment is numbered after it.
	m := spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), "x\r\n")
	if !strings.HasSuffix(m.seg.path, "seg-0000000008") {
		t.Errorf("new segment %s, want seg-0000000008", m.seg.path)
	}
	if !strings.Contains(lb.String(), "unknown file") {
		t.Error("the unknown file was not logged")
	}
}

// FuzzSpoolRecord feeds arbitrary bytes to the record scanner and the
// envelope spoolDecoder: no panic, no allocation beyond the input's size, and
// what decodes re-encodes to the same envelope.
func FuzzSpoolRecord(f *testing.F) {
	_, deferred, segment := spoolSamples(f)
	f.Add(deferred)
	f.Add(segment)
	envb, _ := encodeSpoolEnvelope(spoolTestEnvelope("a@example.jp", "b@example.jp"))
	f.Add(envb)
	f.Add(outcomeRecord(12, 1, Deferred, "4.4.1 x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The in-memory path and the ReadAt path agree.
		var ends []int64
		good2, err2 := scanRecords(bytes.NewReader(data), int64(len(data)), func(r *spoolRecord) error {
			ends = append(ends, r.end)
			return nil
		})
		good, err := scanRecords(memFile(data), int64(len(data)), func(r *spoolRecord) error {
			if len(ends) == 0 || ends[0] != r.end {
				t.Fatalf("record ending at %d read from memory, not through ReadAt", r.end)
			}
			ends = ends[1:]
			if r.end > int64(len(data)) || r.off < 0 {
				t.Fatalf("record %+v outside the input", r)
			}
			if r.typ == recMessage {
				if r.coff < r.off || r.coff+r.csize != r.end {
					t.Fatalf("message record content [%d,+%d) in record [%d,%d)", r.coff, r.csize, r.off, r.end)
				}
				spoolEnvelopeRoundTrip(t, r.env)
			}
			return nil
		})
		if good != good2 || (err == nil) != (err2 == nil) || len(ends) != 0 {
			t.Fatalf("memory: %d, %v; ReadAt: %d, %v", good, err, good2, err2)
		}
		if env, err := decodeSpoolEnvelope(data); err == nil {
			spoolEnvelopeRoundTrip(t, env)
		}
	})
}

func spoolEnvelopeRoundTrip(t *testing.T, env *Envelope) {
	b, err := encodeSpoolEnvelope(env)
	if err != nil {
		t.Fatalf("decoded envelope does not encode: %v", err)
	}
	env2, err := decodeSpoolEnvelope(b)
	if err != nil {
		t.Fatalf("encoded envelope does not decode: %v", err)
	}
	if !reflect.DeepEqual(env, env2) {
		t.Fatalf("envelope changed in a round trip:\n%+v\n%+v", env, env2)
	}
}
