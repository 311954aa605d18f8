package managesieve

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadCommand(t *testing.T) {
	lim := limits{line: 200, literal: 100}
	for _, tc := range []struct {
		in   string
		want command
		err  error
	}{
		{"NOOP\r\n", command{name: "NOOP"}, nil},
		{"noop\n", command{name: "NOOP"}, nil},
		{`AUTHENTICATE "PLAIN" "AGEAYg=="` + "\r\n", command{"AUTHENTICATE", []arg{{argString, "PLAIN"}, {argString, "AGEAYg=="}}}, nil},
		{"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", command{"PUTSCRIPT", []arg{{argString, "a"}, {argString, "keep;"}}}, nil},
		{"PUTSCRIPT {1}\r\na {0+}\r\n\r\n", command{"PUTSCRIPT", []arg{{argString, "a"}, {argString, ""}}}, nil},
		{`HAVESPACE "x\"y\\z" 100` + "\r\n", command{"HAVESPACE", []arg{{argString, `x"y\z`}, {argAtom, "100"}}}, nil},
		{`NOOP "a\x"` + "\r\n", command{}, errSyntax},
		{`NOOP "abc` + "\r\n", command{}, errSyntax},
		{"NOOP  \"a\"\r\n", command{}, errSyntax},
		{"NOOP \"a\" \r\n", command{}, errSyntax},
		{"\r\n", command{}, errSyntax},
		{"\"NOOP\"\r\n", command{}, errSyntax},
		{"NOOP {5+} x\r\n", command{}, errSyntax},
		{"NOOP {99999999999+}\r\n", command{}, errSyntax},
		{"NOOP {+}\r\n", command{}, errSyntax},
		{"NOOP {101+}\r\n", command{}, &literalTooLarge{size: 101}},
		{"NOOP " + strings.Repeat("x", 300) + "\r\n", command{}, errLineTooLong},
		{"A 1 2 3 4 5 6 7 8 9\r\n", command{}, errTooManyArgs},
		{"PUTSCRIPT \"a\" {5+}\r\nkeep;", command{}, errors.New("EOF")},
	} {
		got, err := readCommand(bufio.NewReader(strings.NewReader(tc.in)), lim)
		if tc.err != nil {
			if err == nil || err.Error() != tc.err.Error() {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// A malformed command's literal is skipped, not run as commands.
func TestSyntaxErrorSkipsLiteral(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("PUTSCRIPT x\"y {12+}\r\nLOGOUT\r\nXYZ\r\nNOOP\r\n"))
	lim := limits{line: 200, literal: 100}
	if _, err := readCommand(r, lim); err != errSyntax {
		t.Fatalf("err %v", err)
	}
	c, err := readCommand(r, lim)
	if err != nil || c.name != "NOOP" {
		t.Fatalf("next command %+v, %v; want NOOP", c, err)
	}
}

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"abc":    `"abc"`,
		`a"b\c`:  `"a\"b\\c"`,
		"a\r\nb": "{4}\r\na\r\nb",
		"":       `""`,
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
