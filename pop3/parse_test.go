package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	good := map[string]command{
		"USER alice":        {"USER", "alice"},
		"user alice":        {"USER", "alice"},
		"PASS a b  c ":      {"PASS", "a b  c "},
		"STAT":              {"STAT", ""},
		"TOP 1 10":          {"TOP", "1 10"},
		"apop u 0123abcd":   {"APOP", "u 0123abcd"},
		"AUTH PLAIN AGFAYg": {"AUTH", "PLAIN AGFAYg"},
	}
	for in, want := range good {
		got, err := parseCommand([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := []string{"", " USER", "USERS x", "US3R", "USER a\x00b", "US\x00ER", "LIST\x01", "\x7f", "ÜSER"}
	for _, in := range bad {
		if _, err := parseCommand([]byte(in)); err == nil {
			t.Errorf("parseCommand(%q) accepted", in)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]uint32{"1": 1, "007": 7, "4294967295": 4294967295, "4294967296": 4294967295, "99999999999999999999999": 4294967295} {
		if got, ok := parseNumber(in); !ok || got != want {
			t.Errorf("parseNumber(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-1", "+1", "1x", " 1", "0x10"} {
		if _, ok := parseNumber(in); ok {
			t.Errorf("parseNumber(%q) accepted", in)
		}
	}
}

func TestReadLine(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("short\r\nbare lf\n"+strings.Repeat("x", 10000)+"\r\nafter\r\nno end"), 16)
	for _, want := range []string{"short", "bare lf"} {
		got, err := readLine(r, 255)
		if err != nil || string(got) != want {
			t.Fatalf("readLine = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := readLine(r, 255); !errors.Is(err, errLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
	if got, err := readLine(r, 255); err != nil || string(got) != "after" {
		t.Fatalf("line after a long one = %q, %v", got, err)
	}
	if _, err := readLine(r, 255); err == nil {
		t.Fatal("unterminated line at EOF accepted")
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER alice", "PASS x y", "TOP 1 2", "RETR 99999999999", "AUTH PLAIN =", "\x00", "LIST\t1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := parseCommand(line)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("parse error %v is not an *Error", err)
			}
			return
		}
		if bytes.IndexByte(line, 0) >= 0 {
			t.Fatal("accepted a NUL byte")
		}
		if len(c.name) < 1 || len(c.name) > 4 || strings.ToUpper(c.name) != c.name {
			t.Fatalf("keyword %q", c.name)
		}
		for _, a := range c.args() {
			if a == "" || strings.ContainsAny(a, " ") {
				t.Fatalf("argument %q", a)
			}
			parseNumber(a)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("USER a\r\nPASS b\r\n"), 255)
	f.Add([]byte(strings.Repeat("a", 300)+"\nx\n"), 255)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		for i := 0; i < len(in)+1; i++ {
			line, err := readLine(r, max)
			if err == nil && len(line) > max {
				t.Fatalf("line of %d bytes over limit %d", len(line), max)
			}
			if err != nil && !errors.Is(err, errLineTooLong) {
				return
			}
		}
	})
}
