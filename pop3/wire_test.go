package pop3

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// reference is the slow, obviously right pipeline the wireWriter
// replaces: store.NewCRLFReader, then dotWriter.
func reference(in []byte) []byte {
	var b bytes.Buffer
	dw := newDotWriter(&b)
	io.Copy(dw, store.NewCRLFReader(bytes.NewReader(in)))
	dw.Close()
	return b.Bytes()
}

func wire(in []byte, chunk int) []byte {
	var b bytes.Buffer
	ww := newWireWriter(&b, nil)
	for len(in) > 0 {
		n := min(chunk, len(in))
		ww.Write(in[:n])
		in = in[n:]
	}
	ww.close()
	return b.Bytes()
}

// wireAppended is wire through appendWire and appendEnd, the way
// readAhead builds a reply.
func wireAppended(in []byte, chunk int) []byte {
	ww := wireWriter{lineStart: true}
	out := []byte("+OK\r\n")
	for len(in) > 0 {
		n := min(chunk, len(in))
		out = ww.appendWire(out, in[:n])
		in = in[n:]
	}
	return ww.appendEnd(out)[len("+OK\r\n"):]
}

func TestWireWriter(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", ".\n", "..x\r\n.y\n", "a\r", "a\r\r\n", "\n\n.", "x\r\n.\r\n", "\r\n", ".", "a\nb",
		"a\r\n\nb", "a\r\nb\r\n", "a\r\nb\r\n.c\r\n", "a\r\nb\r", "\r\n\r\n\r\n"} {
		want := reference([]byte(in))
		for _, chunk := range []int{1, 2, 3, 1000} {
			if got := wire([]byte(in), chunk); !bytes.Equal(got, want) {
				t.Errorf("wire(%q, chunk %d) = %q, want %q", in, chunk, got, want)
			}
			if got := wireAppended([]byte(in), chunk); !bytes.Equal(got, want) {
				t.Errorf("wireAppended(%q, chunk %d) = %q, want %q", in, chunk, got, want)
			}
		}
	}
}

func FuzzWireWriter(f *testing.F) {
	f.Add([]byte("a\r\n.b\n..c\r\rd\n"), 3)
	f.Add([]byte("\r"), 1)
	f.Add([]byte("a\r\nb\r\n\r\n.c\r\nd"), 5)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<20 {
			return
		}
		if got, want := wire(in, chunk), reference(in); !bytes.Equal(got, want) {
			t.Fatalf("wire(%q, %d) = %q, want %q", in, chunk, got, want)
		}
		if got, want := wireAppended(in, chunk), reference(in); !bytes.Equal(got, want) {
			t.Fatalf("wireAppended(%q, %d) = %q, want %q", in, chunk, got, want)
		}
	})
}

// BenchmarkWireWriter converts a 10 KiB message stored with LF and with
// CRLF line ends (the CRLF one passes through unchanged).
func BenchmarkWireWriter(b *testing.B) {
	for _, eol := range []string{"\n", "\r\n"} {
		name := map[string]string{"\n": "LF", "\r\n": "CRLF"}[eol]
		msg := []byte("Subject: x" + eol + eol + strings.Repeat(strings.Repeat("x", 78)+eol, 130))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			scratch := make([]byte, 0, 32<<10)
			for i := 0; i < b.N; i++ {
				ww := newWireWriter(io.Discard, scratch)
				ww.Write(msg)
				ww.close()
				scratch = ww.out
			}
		})
	}
}

// BenchmarkAppendWire builds a whole RETR body of a 10 KiB LF message
// in memory, as readAhead does.
func BenchmarkAppendWire(b *testing.B) {
	msg := []byte("Subject: x\n\n" + strings.Repeat(strings.Repeat("x", 78)+"\n", 130))
	b.SetBytes(int64(len(msg)))
	dst := make([]byte, 0, 32<<10)
	for i := 0; i < b.N; i++ {
		ww := wireWriter{lineStart: true}
		dst = ww.appendEnd(ww.appendWire(dst[:0], msg))
	}
}
