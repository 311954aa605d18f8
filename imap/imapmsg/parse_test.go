package imapmsg

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

func crlf(s string) string {
	var b bytes.Buffer
	io.Copy(&b, store.NewCRLFReader(strings.NewReader(s)))
	return b.String()
}

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(s), int64(len(s)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readSection(t testing.TB, m *Message, r io.ReaderAt, spec string, p *Partial) string {
	t.Helper()
	sp, err := ParseSectionSpec(spec)
	if err != nil {
		t.Fatalf("ParseSectionSpec(%q): %v", spec, err)
	}
	rd, n, err := m.Section(r, sp, p)
	if err != nil {
		t.Fatalf("Section(%q): %v", spec, err)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != n {
		t.Fatalf("Section(%q) announced %d bytes, gave %d", spec, n, len(b))
	}
	return string(b)
}

func structure(t testing.TB, m *Message) string {
	var b bytes.Buffer
	if err := m.WriteEnvelope(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteByte(' ')
	if err := m.WriteBodyStructure(&b, true); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestParseBareLFEqualsCRLF checks that a message stored with bare LFs
// gives the same sizes, structure and sections as the same message stored
// with CRLF, and that BODY[] is the CRLF form.
func TestParseBareLFEqualsCRLF(t *testing.T) {
	specs := []string{"", "HEADER", "TEXT", "1", "1.MIME", "2", "3", "3.HEADER", "3.TEXT", "4.1", "4.2.MIME", "HEADER.FIELDS (Subject From)", "HEADER.FIELDS.NOT (Subject)"}
	for _, c := range corpus {
		lf := mustParse(t, c.msg)
		wire := crlf(c.msg)
		cr := mustParse(t, wire)
		if lf.Size != int64(len(wire)) || cr.Size != lf.Size {
			t.Errorf("%s: Size %d / %d, want %d", c.name, lf.Size, cr.Size, len(wire))
		}
		if a, b := structure(t, lf), structure(t, cr); a != b {
			t.Errorf("%s: structure differs:\n LF %s\nCRLF %s", c.name, a, b)
		}
		for _, s := range specs {
			a := readSection(t, lf, strings.NewReader(c.msg), s, nil)
			b := readSection(t, cr, strings.NewReader(wire), s, nil)
			if a != b {
				t.Errorf("%s [%s]: LF %q, CRLF %q", c.name, s, a, b)
			}
		}
		if whole := readSection(t, lf, strings.NewReader(c.msg), "", nil); whole != wire {
			t.Errorf("%s: BODY[] = %q, want %q", c.name, whole, wire)
		}
	}
}

// TestParseOffsets checks the recorded offsets of a nested message by
// hand.
func TestParseOffsets(t *testing.T) {
	msg := "Subject: x\n" + // 12 in CRLF
		"Content-Type: multipart/mixed; boundary=b\n" + // 43
		"\n" + // 2 -> body at 57
		"--b\n" + // 5 -> child header at 62
		"Content-Type: text/plain\n" + // 26
		"\n" + // 2 -> body at 90
		"hello\nworld\n" + // "hello\r\nworld" = 12 bytes, 1 line
		"--b--\n"
	m := mustParse(t, msg)
	root := m.Root
	if root.HeaderSize != 57 || root.BodyOffset != 57 || root.BodySize != m.Size-57 {
		t.Errorf("root: header %d body %d+%d, size %d", root.HeaderSize, root.BodyOffset, root.BodySize, m.Size)
	}
	if len(root.Children) != 1 {
		t.Fatalf("children = %d", len(root.Children))
	}
	c := root.Children[0]
	if c.HeaderOffset != 62 || c.HeaderSize != 28 || c.BodyOffset != 90 || c.BodySize != 12 || c.Lines != 1 {
		t.Errorf("child = header %d+%d body %d+%d lines %d", c.HeaderOffset, c.HeaderSize, c.BodyOffset, c.BodySize, c.Lines)
	}
	if got := readSection(t, m, strings.NewReader(msg), "1", nil); got != "hello\r\nworld" {
		t.Errorf("BODY[1] = %q", got)
	}
}

// TestPartialAcrossCheckpoints reads ranges of a large bare-LF message
// that start before, at and after checkpoints and compares them with the
// CRLF form.
func TestPartialAcrossCheckpoints(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: big\n\n")
	for i := 0; b.Len() < 600<<10; i++ {
		fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("z", i%97))
	}
	msg := b.String()
	wire := crlf(msg)
	m := mustParse(t, msg)
	if len(m.checkpoints) < 5 {
		t.Fatalf("only %d checkpoints", len(m.checkpoints))
	}
	r := strings.NewReader(msg)
	for _, off := range []int64{0, 1, 65535, 65536, 65537, 200000, int64(len(wire)) - 3, int64(len(wire)) + 5} {
		for _, n := range []int64{0, 1, 10, 70000, -1} {
			got := readSection(t, m, r, "", &Partial{Offset: off, Count: n})
			want := ""
			if off < int64(len(wire)) {
				end := int64(len(wire))
				if n >= 0 && off+n < end {
					end = off + n
				}
				want = wire[off:end]
			}
			if got != want {
				t.Fatalf("BODY[]<%d.%d>: got %d bytes, want %d", off, n, len(got), len(want))
			}
		}
	}
}

// TestLimits checks that deep nesting, many parts and huge headers are
// bounded and still give valid output.
func TestLimits(t *testing.T) {
	t.Run("depth", func(t *testing.T) {
		var b strings.Builder
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
		}
		b.WriteString("\ndeep\n")
		msg := b.String()
		m, err := Parse(strings.NewReader(msg), int64(len(msg)), Limits{MaxDepth: 10})
		if err != nil {
			t.Fatal(err)
		}
		depth := 0
		for p := m.Root; p.IsMultipart() && len(p.Children) > 0; p = p.Children[0] {
			depth++
		}
		if depth > 10 {
			t.Errorf("depth %d beyond MaxDepth 10", depth)
		}
		structure(t, m)
	})
	t.Run("parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=p\n\n")
		for i := 0; i < 500; i++ {
			fmt.Fprintf(&b, "--p\n\npart %d\n", i)
		}
		b.WriteString("--p--\n")
		msg := b.String()
		m, err := Parse(strings.NewReader(msg), int64(len(msg)), Limits{MaxParts: 50})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(m.Root.Children); n > 50 {
			t.Errorf("%d parts beyond MaxParts 50", n)
		}
		structure(t, m)
	})
	t.Run("header", func(t *testing.T) {
		msg := "Subject: s\nX-Big: " + strings.Repeat("y", 3<<20) + "\nFrom: late@x\n\nbody\n"
		m, err := Parse(strings.NewReader(msg), int64(len(msg)), Limits{MaxHeaderBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Root.Header.Get("Subject"); !ok {
			t.Error("Subject lost")
		}
		if _, ok := m.Root.Header.Get("X-Big"); ok {
			t.Error("oversized field kept")
		}
		if got := readSection(t, m, strings.NewReader(msg), "TEXT", nil); got != "body\r\n" {
			t.Errorf("TEXT = %q", got)
		}
		if m.mem > 2<<20 {
			t.Errorf("kept %d bytes", m.mem)
		}
	})
}

// TestMalformedNeverFails parses truncated prefixes of every corpus
// message: no error, no panic, and BODY[] is always the CRLF input.
func TestMalformedNeverFails(t *testing.T) {
	for _, c := range corpus {
		step := 1 + len(c.msg)/200
		if len(c.msg) > 16<<10 {
			step = len(c.msg) / 20
		}
		for i := 0; i <= len(c.msg); i += step {
			s := c.msg[:i]
			m := mustParse(t, s)
			structure(t, m)
			if got := readSection(t, m, strings.NewReader(s), "", nil); got != crlf(s) {
				t.Fatalf("%s[:%d]: BODY[] differs", c.name, i)
			}
		}
	}
}

// errReaderAt fails every read.
type errReaderAt struct{}

func (errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, io.ErrClosedPipe }

func TestParseReadError(t *testing.T) {
	if _, err := Parse(errReaderAt{}, 100, Limits{}); err == nil {
		t.Fatal("Parse ignored a read error")
	}
}
