package store

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

func TestCRLFReader(t *testing.T) {
	cases := map[string]string{
		"a\nb\n":          "a\r\nb\r\n",
		"a\r\nb\r\n":      "a\r\nb\r\n",
		"bare\rcr\n":      "bare\rcr\r\n",
		"\n\n":            "\r\n\r\n",
		"nul\x00\xff\n":   "nul\x00\xff\r\n",
		"":                "",
		"no newline":      "no newline",
		"mixed\r\nx\ny\r": "mixed\r\nx\r\ny\r",
	}
	for in, want := range cases {
		got, err := io.ReadAll(iotest.OneByteReader(NewCRLFReader(bytes.NewReader([]byte(in)))))
		if err != nil || string(got) != want {
			t.Errorf("CRLF(%q) = %q, %v; want %q", in, got, err, want)
		}
		n, err := CRLFSize(bytes.NewReader([]byte(in)))
		if err != nil || n != int64(len(want)) {
			t.Errorf("CRLFSize(%q) = %d, want %d", in, n, len(want))
		}
	}
}

func FuzzCRLFReader(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(NewCRLFReader(bytes.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := CRLFSize(bytes.NewReader(in))
		if int64(len(out)) != n {
			t.Fatalf("size %d != output %d", n, len(out))
		}
		if !bytes.Equal(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))) {
			t.Fatal("conversion changed more than line endings")
		}
		for i := 0; i < len(out); i++ {
			if out[i] == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatal("bare LF left in output")
			}
		}
	})
}
