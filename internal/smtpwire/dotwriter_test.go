package smtpwire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// dotWrite runs in through a DotWriter, in pieces of size step (0: whole).
func dotWrite(in string, step int) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	d := NewDotWriter(w)
	if step <= 0 {
		step = len(in) + 1
	}
	for i := 0; i < len(in); i += step {
		d.Write([]byte(in[i:min(i+step, len(in))]))
	}
	d.Close()
	w.Flush()
	return b.String()
}

// normalized is what DotWriter promises the content becomes: every bare
// CR or LF a CRLF, and a last line without a line ending ended.
func normalized(in string) string {
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		switch c := in[i]; c {
		case '\r':
			b.WriteString("\r\n")
			if i+1 < len(in) && in[i+1] == '\n' {
				i++
			}
		case '\n':
			b.WriteString("\r\n")
		default:
			b.WriteByte(c)
		}
	}
	s := b.String()
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// smuggling lists the end-of-data look-alikes of the SMTP smuggling
// research (SEC Consult, December 2023) and friends: each would end
// DATA early at a server that accepts a bare CR or LF around the dot.
var smuggling = []string{
	"\r\n.\r\n", "\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\n.\r\n", "\r\n.\n", "\n.\r", "\r.\n",
	"\r\n\x00.\r\n", "\n.\x00\n", "\r\r\n.\r\r\n",
}

func TestDotWriterSmuggling(t *testing.T) {
	for _, seq := range smuggling {
		in := "Subject: s\r\n\r\nbody" + seq + "MAIL FROM:<evil@example.org>\r\nRSET\r\n"
		want := "Subject: s\r\n\r\nbody"
		for _, step := range []int{0, 1, 2, 3} {
			got := dotWrite(in, step)
			// Exactly one end of data, at the end.
			if strings.Count(got, "\r\n.\r\n") != 1 || !strings.HasSuffix(got, "\r\n.\r\n") {
				t.Errorf("%q step %d: %q", seq, step, got)
			}
			if !strings.HasPrefix(got, want) {
				t.Errorf("%q step %d: %q", seq, step, got)
			}
			checkCRLFOnly(t, got)
			// Read back as a strict server does.
			dr := NewDataReader(bufio.NewReader(strings.NewReader(got)))
			back, err := io.ReadAll(dr)
			if err != nil || string(back) != normalized(in) {
				t.Errorf("%q step %d: read back %q, %v; want %q", seq, step, back, err, normalized(in))
			}
		}
	}
}

func TestDotWriterTable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ".\r\n"},
		{"x", "x\r\n.\r\n"},
		{"x\r", "x\r\n.\r\n"},
		{"x\n", "x\r\n.\r\n"},
		{"x\r\n", "x\r\n.\r\n"},
		{".", "..\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"a\n.b\r..c\r\n.", "a\r\n..b\r\n...c\r\n..\r\n.\r\n"},
		{"\r\r\n", "\r\n\r\n.\r\n"},
		{"\n\r", "\r\n\r\n.\r\n"},
		{"a\r\n.\r\nRSET\r\n", "a\r\n..\r\nRSET\r\n.\r\n"},
		{"a\r.\rRSET", "a\r\n..\r\nRSET\r\n.\r\n"},
		{"nul\x00.\r\n", "nul\x00.\r\n.\r\n"},
	} {
		for _, step := range []int{0, 1, 2} {
			if got := dotWrite(tc.in, step); got != tc.want {
				t.Errorf("%q step %d: got %q, want %q", tc.in, step, got, tc.want)
			}
		}
	}
}

func TestCRLFReader(t *testing.T) {
	for _, in := range append(smuggling, "", "x", "x\r", "a\r\r\nb\n\rc", strings.Repeat("ab\rcd\n", 2000)) {
		got, err := io.ReadAll(CRLFReader(iotestHalf(strings.NewReader(in))))
		want := normalized(in)
		if !strings.HasSuffix(in, "\r") && !strings.HasSuffix(in, "\n") {
			want = strings.TrimSuffix(want, "\r\n") // no line ending added
		}
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
}

// iotestHalf returns a reader that reads at most 3 bytes at a time.
func iotestHalf(r io.Reader) io.Reader { return &smallReader{r} }

type smallReader struct{ r io.Reader }

func (s *smallReader) Read(p []byte) (int, error) {
	if len(p) > 3 {
		p = p[:3]
	}
	return s.r.Read(p)
}

// checkCRLFOnly fails when s has a CR or LF outside a CRLF pair.
func checkCRLFOnly(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && (i+1 == len(s) || s[i+1] != '\n') || s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			t.Fatalf("bare CR or LF at %d in %q", i, s)
		}
	}
}

// FuzzDotWriter: whatever the content and however it is split into
// writes, the output has CR and LF only as CRLF, a strict DataReader
// reads back exactly the normalised content and stops at the very end
// (nothing ends the data early), and CRLFReader gives the same lines.
func FuzzDotWriter(f *testing.F) {
	for _, s := range smuggling {
		f.Add([]byte("a"+s+"RSET\r\n"), uint8(0))
	}
	f.Add([]byte(".\r\n.\n.\r."), uint8(1))
	f.Add([]byte(""), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		if len(in) > 4096 {
			return
		}
		out := dotWrite(string(in), int(step))
		if want := refDotStuff(in); out != want {
			t.Fatalf("DotWriter(%q) = %q, want %q", in, out, want)
		}
		checkCRLFOnly(t, out)
		r := bufio.NewReaderSize(bytes.NewReader([]byte(out)), 16)
		dr := NewDataReader(r)
		back, err := io.ReadAll(dr)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		want := normalized(string(in))
		if string(back) != want {
			t.Fatalf("read back %q, want %q", back, want)
		}
		if rest, _ := io.ReadAll(r); len(rest) != 0 {
			t.Fatalf("data ended early; %q left over", rest)
		}
		raw, err := io.ReadAll(CRLFReader(bytes.NewReader(in)))
		if err != nil || !strings.HasPrefix(want, string(raw)) || len(want)-len(raw) > 2 {
			t.Fatalf("CRLFReader %q vs %q", raw, want)
		}
	})
}

// refDotStuff is the byte-at-a-time definition of what DotWriter
// writes: CRLF, bare CR and bare LF each become CRLF, a "." starting a
// line is doubled, the last line is ended and ".\r\n" follows.
func refDotStuff(in []byte) string {
	var out []byte
	bol, skipLF := true, false
	for _, b := range in {
		if skipLF && b == '\n' {
			skipLF = false
			continue
		}
		skipLF = false
		switch {
		case b == '\r' || b == '\n':
			out = append(out, '\r', '\n')
			bol, skipLF = true, b == '\r'
		default:
			if bol && b == '.' {
				out = append(out, '.')
			}
			out = append(out, b)
			bol = false
		}
	}
	if !bol {
		out = append(out, '\r', '\n')
	}
	return string(append(out, ".\r\n"...))
}

// BenchmarkDotWriter writes a 1 MB message of 78-byte lines.
func BenchmarkDotWriter(b *testing.B) {
	msg := []byte(strings.Repeat(strings.Repeat("x", 76)+"\r\n", 1<<20/78))
	w := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		d := NewDotWriter(w)
		d.Write(msg)
		d.Close()
	}
}
