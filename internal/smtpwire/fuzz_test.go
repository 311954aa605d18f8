package smtpwire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO x", "MAIL FROM:<a@b> SIZE=1", "BDAT 10 LAST", "\x00", "AUTH PLAIN AGEAYg=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err == nil && (c.Verb == "" || strings.ToUpper(c.Verb) != c.Verb) {
			t.Fatalf("bad verb %q", c.Verb)
		}
		ParseBDAT(string(line))
	})
}

func FuzzParsePathArg(f *testing.F) {
	for _, s := range []string{"FROM:<a@b>", "TO:<@x,@y:u@d> NOTIFY=NEVER", `TO:<"a\"b"@c>`, "FROM:<>", "TO:<u@[1.2.3.4]>", "FROM:a@b SMTPUTF8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, params, err := ParsePathArg(s, "FROM:", true)
		if err != nil {
			return
		}
		if len(p) > MaxPathLength || len(params) > MaxParams {
			t.Fatalf("limits exceeded: %q %d", p, len(params))
		}
		if p != "" && !strings.EqualFold(p, "postmaster") {
			if _, _, err := ParseMailbox(p); err != nil {
				t.Fatalf("returned path %q does not parse: %v", p, err)
			}
		}
	})
}

// FuzzParsePathArgLoose: the loose parser returns one token of bounded
// length, without control characters, unquoted spaces or brackets, and
// takes every address the strict one takes.
func FuzzParsePathArgLoose(f *testing.F) {
	for _, s := range []string{"FROM:<a@b>", "TO:<@x,@y:u@d> NOTIFY=NEVER", `TO:<"a b"@c>`, "FROM:<>", "TO:< u@d >", "FROM:a", "TO:<@d>", "TO:<x@y@z>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, params, err := ParsePathArgLoose(s, "TO:")
		// (A strict parse to "" drops a source route the loose one
		// checks: both are refused as recipients.)
		if sp, _, serr := ParsePathArg(s, "TO:", true); serr == nil && sp != "" && (err != nil || p != sp) {
			t.Fatalf("strict takes %q as %q, loose gives %q, %v", s, sp, p, err)
		}
		if err != nil {
			return
		}
		if len(p) > MaxPathLength || len(params) > MaxParams {
			t.Fatalf("limits exceeded: %q %d", p, len(params))
		}
		quoted := false
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case c < 0x20 || c == 0x7f:
				t.Fatalf("control byte in %q", p)
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case !quoted && (c == ' ' || c == '<' || c == '>'):
				t.Fatalf("unquoted %q in %q", c, p)
			}
		}
	})
}

func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..x\n.\n.\r\n", "a\rb\r\n\r\n.\r\n", "", "a\r.\r\n\r\r\n.\r\n"} {
		f.Add([]byte(s), uint8(16), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize uint8, reject bool) {
		r := bufio.NewReaderSize(bytes.NewReader(in), int(bufSize)+16)
		d := NewDataReader(r)
		d.MaxSize = 1 << 16
		if reject {
			d.BareLF = BareLFReject
		}
		out, err := io.ReadAll(d)
		d.Discard()
		// WriteTo (what io.Copy uses) gives the same bytes and outcome.
		r2 := bufio.NewReaderSize(bytes.NewReader(in), int(bufSize)+16)
		d2 := NewDataReader(r2)
		d2.MaxSize = d.MaxSize
		d2.BareLF = d.BareLF
		var out2 bytes.Buffer
		_, err2 := io.Copy(&out2, d2)
		d2.Discard()
		if err != err2 || err == nil && !bytes.Equal(out, out2.Bytes()) || d.TooBig() != d2.TooBig() {
			t.Fatalf("Read: %q %v; WriteTo: %q %v", out, err, out2.Bytes(), err2)
		}
		if rest, rest2 := r.Buffered(), r2.Buffered(); rest != rest2 {
			t.Fatalf("left %d buffered after Read, %d after WriteTo", rest, rest2)
		}
		if err == nil {
			// Output is CRLF-normalised: every LF follows a CR and
			// every CR is followed by LF.
			for i, b := range out {
				if b == '\n' && (i == 0 || out[i-1] != '\r') {
					t.Fatalf("bare LF in output %q", out)
				}
				if b == '\r' && (i == len(out)-1 || out[i+1] != '\n') {
					t.Fatalf("bare CR in output %q from %q", out, in)
				}
			}
			if bytes.Contains(append([]byte("\r\n"), out...), []byte("\r\n.\r\n")) && !bytes.Contains(in, []byte("\r\n..\r\n")) && !bytes.HasPrefix(in, []byte("..\r\n")) && !bytes.Contains(in, []byte("\n.\r\n")) {
				t.Fatalf("terminator inside output %q from %q", out, in)
			}
		}
	})
}
