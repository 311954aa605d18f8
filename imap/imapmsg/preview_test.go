package imapmsg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func previewOf(t testing.TB, msg string) string {
	m, err := Parse(strings.NewReader(msg), int64(len(msg)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Preview(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPreview(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"Subject: x\r\n\r\n  Hello\r\n\r\n  world \r\n", "Hello world"},
		{"\r\nline1\n>quote\nline2\n", "line1 line2"},
		{"\r\n> only\n>quoted\n", ">only quoted"},
		{"Content-Type: text/html\r\n\r\n<p>a&lt;b</p><script>x()</script><!-- c --><b>d</b>&#65;&#x42;&bogus;", "a<b d AB&bogus;"},
		{"Content-Type: text/html\r\n\r\nx&nbsp;y", "x\u00a0y"},
		{"Content-Type: application/octet-stream\r\n\r\nbinary", ""},
		{"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nd=E9j=E0", "d\u00e9j\u00e0"},
		{"\r\n" + strings.Repeat("x", 300), strings.Repeat("x", PreviewChars)},
	} {
		if got := previewOf(t, tc.msg); got != tc.want {
			t.Errorf("%q: preview %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func FuzzPreview(f *testing.F) {
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x&amp;\r\n--b--\r\n")
	f.Add("\r\n>a\n\xef\xbb\xbf> b\x00\n<c")
	f.Fuzz(func(t *testing.T, msg string) {
		p := previewOf(t, msg)
		if n := utf8.RuneCountInString(p); n > PreviewChars+1 {
			t.Fatalf("preview of %d characters", n)
		}
		if strings.ContainsAny(p, "\r\n\x00") {
			t.Fatalf("preview %q holds a line break or NUL", p)
		}
	})
}
