package smtpwire

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// refLineEnds is the byte-at-a-time definition of NormalizeLineEnds.
func refLineEnds(in []byte) []byte {
	var out []byte
	crs := 0
	for _, c := range in {
		switch {
		case c == '\r':
			crs++
		case c == '\n':
			out = append(out, '\r', '\n')
			crs = 0
		default:
			out = append(out, bytes.Repeat([]byte(" "), crs)...)
			crs = 0
			out = append(out, c)
		}
	}
	if crs > 0 {
		out = append(out, '\r', '\n')
	}
	return out
}

func TestNormalizeLineEnds(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\r\n":          "a\r\nb\r\n",
		"a\nb\n":              "a\r\nb\r\n",
		"line\r.\r\nx\r\n":    "line .\r\nx\r\n",
		"in\rside\r\r\n":      "in side\r\n",
		"\r\r\r":              "\r\n",
		"":                    "",
		"no end":              "no end",
		"\r\n.\r\n\n.\n\r.\r": "\r\n.\r\n\r\n.\r\n .\r\n",
	} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader} {
			got, err := io.ReadAll(NormalizeLineEnds(wrap(bytes.NewReader([]byte(in)))))
			if err != nil || string(got) != want {
				t.Errorf("%s %q: got %q %v, want %q", name, in, got, err, want)
			}
		}
	}
}

// FuzzNormalizeLineEnds: the reader gives what the byte-wise definition
// does, however its source splits the input, and leaves no bare CR or LF.
func FuzzNormalizeLineEnds(f *testing.F) {
	for _, s := range []string{"a\r\n", "a\rb\n\r\r\n", "\r", "\n\n\r."} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		want := refLineEnds(in)
		var r io.Reader = bytes.NewReader(in)
		switch split % 3 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		}
		got, err := io.ReadAll(NormalizeLineEnds(r))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q %v, want %q", in, got, err, want)
		}
		var viaWriteTo bytes.Buffer
		if _, err := io.Copy(&viaWriteTo, NormalizeLineEnds(iotest.HalfReader(bytes.NewReader(in)))); err != nil || !bytes.Equal(viaWriteTo.Bytes(), want) {
			t.Fatalf("%q: WriteTo gave %q %v, want %q", in, viaWriteTo.Bytes(), err, want)
		}
		for i, b := range got {
			if b == '\r' && (i+1 == len(got) || got[i+1] != '\n') || b == '\n' && (i == 0 || got[i-1] != '\r') {
				t.Fatalf("bare CR or LF in %q", got)
			}
		}
	})
}
