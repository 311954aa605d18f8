package managesieve

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadCommand feeds arbitrary bytes to the command parser: it must
// return commands or errors, never panic, and never hold more than the
// limits allow.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"NOOP\r\n",
		"AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n",
		"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nLOGOUT\r\n",
		"PUTSCRIPT {1}\r\na {0}\r\n\r\n",
		"HAVESPACE \"x\\\"\" 100\r\n",
		"PUTSCRIPT x\"y {3+}\r\nabc\r\nNOOP\r\n",
		"NOOP {999999+}\r\n",
		"\"\\",
	} {
		f.Add([]byte(s))
	}
	lim := limits{line: 256, literal: 1024}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 64; i++ {
			c, err := readCommand(r, lim)
			if err != nil {
				if lt, ok := err.(*literalTooLarge); ok && lt.size <= lim.literal {
					t.Fatalf("literal of %d refused", lt.size)
				}
				if err == errSyntax || err == errTooManyArgs {
					continue
				}
				return
			}
			if len(c.args) > maxArgs-1 {
				t.Fatalf("%d arguments", len(c.args))
			}
			for _, a := range c.args {
				if a.kind == argString && int64(len(a.s)) > lim.literal && len(a.s) > lim.line {
					t.Fatalf("argument of %d bytes", len(a.s))
				}
			}
		}
	})
}
