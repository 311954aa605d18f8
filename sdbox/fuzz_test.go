package sdbox

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func addGoldenSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		for _, base := range []string{goldenDir, "/work/shared/testdata/sdbox"} {
			if b, err := os.ReadFile(filepath.Join(base, n)); err == nil {
				f.Add(b)
				break
			}
		}
	}
}

// FuzzMessageFile: the u.N parser never panics and never reports a body
// outside the file.
func FuzzMessageFile(f *testing.F) {
	addGoldenSeeds(f, "INBOX/u.1", "INBOX/u.2", "handwritten/u.3", "handwritten/u.7")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readMeta(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if m.Layout.BodyOffset < 0 || m.Layout.BodySize < 0 || m.Layout.BodyOffset+m.Layout.BodySize > int64(len(data)) {
			t.Fatalf("body %+v outside %d bytes", m.Layout, len(data))
		}
	})
}

// FuzzIndex: the dovecot.index reader never panics and keeps records in
// UID order.
func FuzzIndex(f *testing.F) {
	addGoldenSeeds(f, "Big/dovecot.index", "synthesized/dovecot.index")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, _ := readIndex(data)
		if st == nil {
			return
		}
		for i := 1; i < len(st.msgs); i++ {
			if st.msgs[i].uid <= st.msgs[i-1].uid {
				t.Fatal("records out of order")
			}
		}
		for i := range st.msgs {
			st.keywordNames(&st.msgs[i])
		}
	})
}

// FuzzLog: replaying any transaction log never panics and keeps
// messages in UID order.
func FuzzLog(f *testing.F) {
	addGoldenSeeds(f, "INBOX/dovecot.index.log", "Big/dovecot.index.log")
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseLogHeader(data)
		if err != nil {
			return
		}
		st := &state{}
		end, _ := walkLog(data, 0, h.HdrSize, func(r logRecord) error {
			st.apply(r, func(int, uint32) {})
			return nil
		})
		if end > len(data) && len(data) >= h.HdrSize {
			t.Fatalf("stopped at %d of %d", end, len(data))
		}
		for i := 1; i < len(st.msgs); i++ {
			if st.msgs[i].uid <= st.msgs[i-1].uid {
				t.Fatal("messages out of order")
			}
		}
	})
}

// TestCounter: the size counter counts bare LFs across write boundaries.
func TestCounter(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		bare  int64
	}{{[]string{"a\r\nb\n"}, 1}, {[]string{"a\r", "\nb"}, 0}, {[]string{"\n\n", "\r", "\r\n"}, 2}, {[]string{"", "\n"}, 1}} {
		var c counter
		for _, p := range tc.parts {
			c.Write([]byte(p))
		}
		if c.bareLF != tc.bare {
			t.Errorf("%q: %d bare LFs, want %d", tc.parts, c.bareLF, tc.bare)
		}
	}
}

// FuzzIndexRewrite: an index yubin reads without damage and writes
// again reads back with the same messages, flags and keywords.
func FuzzIndexRewrite(f *testing.F) {
	addGoldenSeeds(f, "Big/dovecot.index", "synthesized/dovecot.index")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, err := readIndex(data)
		if st == nil || err != nil {
			return
		}
		out, err := buildIndex(st, indexWrite{indexID: 1, logSeq: 2, logOff: logHeaderSize, raw: indexRecords(data), now: 1})
		if err != nil {
			return
		}
		st2, info, err := readIndex(out)
		if err != nil || st2 == nil {
			t.Fatalf("rewritten index unreadable: %v", err)
		}
		if info.LogSeq != 2 || info.HeadOffset != logHeaderSize || len(st2.msgs) != len(st.msgs) {
			t.Fatalf("rewritten: log %d/%d, %d messages, want %d", info.LogSeq, info.HeadOffset, len(st2.msgs), len(st.msgs))
		}
		for i := range st.msgs {
			a, b := &st.msgs[i], &st2.msgs[i]
			if a.uid != b.uid || a.flags != b.flags || !slices.Equal(st.keywordNames(a), st2.keywordNames(b)) {
				t.Fatalf("message %d: %+v %v became %+v %v", i, *a, st.keywordNames(a), *b, st2.keywordNames(b))
			}
		}
	})
}
