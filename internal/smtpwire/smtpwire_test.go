package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("EHLO a\r\nNOOP\n"+strings.Repeat("x", 2000)+"\r\nQUIT\r\npartial"), 16)
	for _, want := range []string{"EHLO a", "NOOP"} {
		l, err := ReadLine(r, 100)
		if err != nil || string(l) != want {
			t.Fatalf("ReadLine = %q, %v; want %q", l, err, want)
		}
	}
	if _, err := ReadLine(r, 1000); err != ErrLineTooLong {
		t.Fatalf("long line: err = %v", err)
	}
	if l, err := ReadLine(r, 100); err != nil || string(l) != "QUIT" {
		t.Fatalf("after long line: %q, %v", l, err)
	}
	if _, err := ReadLine(r, 100); err != io.ErrUnexpectedEOF {
		t.Fatalf("partial: err = %v", err)
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in, verb, arg string
		bad           bool
	}{
		{in: "ehlo mx.example.jp", verb: "EHLO", arg: "mx.example.jp"},
		{in: "MAIL FROM:<a@b>  SIZE=10  ", verb: "MAIL", arg: "FROM:<a@b>  SIZE=10"},
		{in: "QUIT", verb: "QUIT"},
		{in: "", bad: true},
		{in: " NOOP", bad: true},
		{in: "NO\x00OP", bad: true},
		{in: "MAIL\rFROM", bad: true},
		{in: "MAIL-FROM:<>", bad: true},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("ParseCommand(%q) = %+v, want error", tt.in, c)
			}
			continue
		}
		if err != nil || c.Verb != tt.verb || c.Arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %+v, %v", tt.in, c, err)
		}
	}
}

func TestParsePathArg(t *testing.T) {
	tests := []struct {
		in, prefix, path string
		params           []Param
		bad              bool
	}{
		{in: "FROM:<user@example.jp>", prefix: "FROM:", path: "user@example.jp"},
		{in: "from: <user@example.jp> SIZE=100 BODY=8BITMIME", prefix: "FROM:", path: "user@example.jp", params: []Param{{"SIZE", "100"}, {"BODY", "8BITMIME"}}},
		{in: "FROM:<>", prefix: "FROM:", path: ""},
		{in: "FROM:user@example.jp", prefix: "FROM:", path: "user@example.jp"},
		{in: "TO:<@relay.example,@r2.example:user@example.jp>", prefix: "TO:", path: "user@example.jp"},
		{in: `TO:<"john doe"@example.jp> NOTIFY=SUCCESS,FAILURE`, prefix: "TO:", path: `"john doe"@example.jp`, params: []Param{{"NOTIFY", "SUCCESS,FAILURE"}}},
		{in: "TO:<postmaster>", prefix: "TO:", path: "postmaster"},
		{in: "TO:<ユーザー@例え.jp> ", prefix: "TO:", path: "ユーザー@例え.jp"},
		{in: "TO:<user@[192.0.2.1]>", prefix: "TO:", path: "user@[192.0.2.1]"},
		{in: "TO:<user>", prefix: "TO:", bad: true},
		{in: "TO:<user@>", prefix: "TO:", bad: true},
		{in: "TO:<a b@c>", prefix: "TO:", bad: true},
		{in: "TO:<user@example.jp", prefix: "TO:", bad: true},
		{in: "TO:<user@example.jp>X=1", prefix: "TO:", bad: true},
		{in: "TO:<user@-bad.jp>", prefix: "TO:", bad: true},
		{in: "FROM:<a@b> =x", prefix: "FROM:", bad: true},
		{in: "FROM <a@b>", prefix: "FROM:", bad: true},
		{in: "TO:<a@b\xff>", prefix: "TO:", bad: true},
		{in: "TO:<" + strings.Repeat("a", 300) + "@b>", prefix: "TO:", bad: true},
	}
	for _, tt := range tests {
		p, params, err := ParsePathArg(tt.in, tt.prefix, true)
		if tt.bad {
			if err == nil {
				t.Errorf("ParsePathArg(%q) = %q, want error", tt.in, p)
			}
			continue
		}
		if err != nil || p != tt.path || len(params) != len(tt.params) {
			t.Errorf("ParsePathArg(%q) = %q %v %v", tt.in, p, params, err)
			continue
		}
		for i := range params {
			if params[i] != tt.params[i] {
				t.Errorf("ParsePathArg(%q) params = %v", tt.in, params)
			}
		}
	}
	if _, _, err := ParsePathArg("TO:<postmaster>", "TO:", false); err == nil {
		t.Error("postmaster without domain accepted for MAIL")
	}
}

func TestWriteReply(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	WriteReply(w, 250, "", "mx.example.jp\nPIPELINING\nSIZE 10485760")
	WriteReply(w, 503, "5.5.1", "Error: authentication not enabled")
	WriteReply(w, 550, "5.7.1", "bad\rtext")
	w.Flush()
	want := "250-mx.example.jp\r\n250-PIPELINING\r\n250 SIZE 10485760\r\n503 5.5.1 Error: authentication not enabled\r\n550 5.7.1 bad text\r\n"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
	r := bufio.NewReader(strings.NewReader(want))
	rep, err := ReadReply(r, 0)
	if err != nil || rep.Code != 250 || len(rep.Lines) != 3 || rep.Lines[2] != "SIZE 10485760" {
		t.Fatalf("ReadReply = %+v, %v", rep, err)
	}
	rep, err = ReadReply(r, 0)
	if err != nil || rep.Code != 503 || rep.Enhanced != "5.5.1" || rep.Text() != "Error: authentication not enabled" {
		t.Fatalf("ReadReply = %+v, %v", rep, err)
	}
}

func readData(t *testing.T, in string, mode BareLFMode, max int64, bufSize int) (got, rest string, err error) {
	t.Helper()
	r := bufio.NewReaderSize(strings.NewReader(in), bufSize)
	d := NewDataReader(r)
	d.BareLF, d.MaxSize = mode, max
	b, err := io.ReadAll(d)
	if derr := d.Discard(); derr != nil && err == nil {
		err = derr
	}
	r2, _ := io.ReadAll(r)
	return string(b), string(r2), err
}

func TestDataReader(t *testing.T) {
	tests := []struct {
		name, in, want, rest string
		mode                 BareLFMode
		max                  int64
		err                  error
	}{
		{name: "plain", in: "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", want: "Subject: x\r\n\r\nbody\r\n", rest: "QUIT\r\n"},
		{name: "empty", in: ".\r\nQUIT\r\n", want: "", rest: "QUIT\r\n"},
		{name: "dot-stuffed", in: "..a\r\n.\r\n..\r\n.\r\n", want: ".a\r\n", rest: "..\r\n.\r\n"},
		{name: "bare LF normalized", in: "a\nb\r\n.\r\n", want: "a\r\nb\r\n"},
		{name: "LF dot LF is not the end", in: "a\n.\nb\r\n.\r\n", want: "a\r\n\r\nb\r\n"},
		{name: "dot CRLF after bare LF is content", in: "a\n.\r\nb\r\n.\r\n", want: "a\r\n\r\nb\r\n"},
		{name: "bare LF rejected", in: "a\nb\r\n.\r\nQUIT\r\n", mode: BareLFReject, want: "a\r\n", err: ErrBareLF, rest: "QUIT\r\n"},
		{name: "bare CR is a space, NUL passes", in: "a\rb\x00c\r\n.\r\n", want: "a b\x00c\r\n"},
		{name: "CR dot CRLF is not the end", in: "a\r.\r\nb\r\n.\r\n", want: "a .\r\nb\r\n"},
		{name: "CRs before LF are one line end", in: "a\r\r\n\r\r\r\n.\r\n", want: "a\r\n\r\n"},
		{name: "CRLF dot CR is content", in: "a\r\n.\rb\r\n.\r\n", want: "a\r\n b\r\n"},
		{name: "CR split from LF by the buffer", in: strings.Repeat("z", 15) + "\r\r\n.\r\n", want: strings.Repeat("z", 15) + "\r\n"},
		{name: "bare CR split by the buffer", in: strings.Repeat("z", 15) + "\r.\r\n.\r\n", want: strings.Repeat("z", 15) + " .\r\n"},
		{name: "too big", in: strings.Repeat("0123456789\r\n", 100) + ".\r\nQUIT\r\n", max: 50, err: ErrTooBig, rest: "QUIT\r\n"},
		{name: "vanished", in: "a\r\nb", err: io.ErrUnexpectedEOF},
		{name: "long line", in: strings.Repeat("y", 100) + "\r\n.\r\n", want: strings.Repeat("y", 100) + "\r\n"},
		{name: "CRLF split by buffer", in: strings.Repeat("z", 15) + "\r\n.\r\n", want: strings.Repeat("z", 15) + "\r\n"},
	}
	for _, tt := range tests {
		got, rest, err := readData(t, tt.in, tt.mode, tt.max, 16)
		if !errors.Is(err, tt.err) && !(tt.err == nil && err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
		if tt.err != ErrTooBig && tt.err != io.ErrUnexpectedEOF && got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if rest != tt.rest {
			t.Errorf("%s: rest %q, want %q", tt.name, rest, tt.rest)
		}
	}
}

func TestParseBDAT(t *testing.T) {
	if n, last, err := ParseBDAT("100 LAST"); n != 100 || !last || err != nil {
		t.Fatal(n, last, err)
	}
	if n, last, err := ParseBDAT("0"); n != 0 || last || err != nil {
		t.Fatal(n, last, err)
	}
	for _, bad := range []string{"", "-1", "+1", "1 FIRST", "x", "1 LAST more", "99999999999999999999"} {
		if _, _, err := ParseBDAT(bad); err == nil {
			t.Errorf("ParseBDAT(%q) accepted", bad)
		}
	}
	r := bufio.NewReader(strings.NewReader("hello worldQUIT\r\n"))
	b, err := io.ReadAll(ChunkReader(r, 11))
	if err != nil || string(b) != "hello world" {
		t.Fatalf("chunk = %q, %v", b, err)
	}
	if _, err := io.ReadAll(ChunkReader(bufio.NewReader(strings.NewReader("abc")), 5)); err != io.ErrUnexpectedEOF {
		t.Fatalf("short chunk: %v", err)
	}
	// WriteTo (what io.Copy uses) across several fills of a small buffer.
	big := strings.Repeat("0123456789", 10)
	r = bufio.NewReaderSize(strings.NewReader(big+"QUIT\r\n"), 16)
	var out bytes.Buffer
	if n, err := io.Copy(&out, ChunkReader(r, int64(len(big)))); err != nil || n != int64(len(big)) || out.String() != big {
		t.Fatalf("WriteTo = %d, %v, %q", n, err, out.String())
	}
	if rest, _ := io.ReadAll(r); string(rest) != "QUIT\r\n" {
		t.Fatalf("after WriteTo: %q", rest)
	}
	out.Reset()
	if n, err := io.Copy(&out, ChunkReader(bufio.NewReaderSize(strings.NewReader(big), 16), 200)); err != io.ErrUnexpectedEOF || n != int64(len(big)) {
		t.Fatalf("short chunk WriteTo: %d, %v", n, err)
	}
	if _, err := io.Copy(failWriter{}, ChunkReader(bufio.NewReader(strings.NewReader(big)), 50)); err != errFail {
		t.Fatalf("failing writer: %v", err)
	}
}

func TestDotWriterRoundTrip(t *testing.T) {
	for _, in := range []string{"a\r\n.b\r\n..\r\n", "no newline", ".\n.\r\nx\n", "ends in CR\r", ""} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		d := NewDotWriter(w)
		d.Write([]byte(in))
		d.Close()
		w.Flush()
		got, rest, err := readData(t, b.String()+"NEXT", BareLFNormalize, 0, 64)
		want := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\n", "\r\n")
		if want != "" && !strings.HasSuffix(want, "\r\n") {
			if strings.HasSuffix(want, "\r") {
				want += "\n"
			} else {
				want += "\r\n"
			}
		}
		if err != nil || got != want || rest != "NEXT" {
			t.Errorf("round trip of %q: %q %q %v (wire %q)", in, got, rest, err, b.String())
		}
	}
}

var errFail = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errFail }
