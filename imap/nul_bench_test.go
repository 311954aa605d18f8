package imap

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkLiteralNULReplacer is the cost of keeping NUL out of FETCH
// literals: a 1 MiB message body copied as literalFrom copies it, with
// and without the replacer.
func BenchmarkLiteralNULReplacer(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), 1<<14)
	for _, tc := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"replacer", func(r io.Reader) io.Reader { return nulReplacer{r} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			w := newWriter(io.Discard)
			for b.Loop() {
				io.CopyN(w, tc.wrap(bytes.NewReader(body)), int64(len(body)))
			}
		})
	}
}
