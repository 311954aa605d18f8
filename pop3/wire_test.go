package pop3

import (
	"bytes"
	"io"
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

func TestWireWriter(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", ".\n", "..x\r\n.y\n", "a\r", "a\r\r\n", "\n\n.", "x\r\n.\r\n", "\r\n", ".", "a\nb"} {
		want := reference([]byte(in))
		for _, chunk := range []int{1, 2, 3, 1000} {
			if got := wire([]byte(in), chunk); !bytes.Equal(got, want) {
				t.Errorf("wire(%q, chunk %d) = %q, want %q", in, chunk, got, want)
			}
		}
	}
}

func FuzzWireWriter(f *testing.F) {
	f.Add([]byte("a\r\n.b\n..c\r\rd\n"), 3)
	f.Add([]byte("\r"), 1)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<20 {
			return
		}
		if got, want := wire(in, chunk), reference(in); !bytes.Equal(got, want) {
			t.Fatalf("wire(%q, %d) = %q, want %q", in, chunk, got, want)
		}
	})
}
