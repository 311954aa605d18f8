package pop3

import "testing"

// TestOneArgAsArgs: oneArg gives what args gives when args gives one
// argument, and refuses everything else.
func TestOneArgAsArgs(t *testing.T) {
	for _, arg := range []string{"1", "12345", " 1", "1 ", "1 2", "", " ", "\t7", "7\u00a0", "\u00a08", "x\x7f", "a\u2003b"} {
		checkOneArg(t, arg)
	}
}

func FuzzOneArg(f *testing.F) {
	for _, s := range []string{"1", "1 2", " 3 ", "\u00a0", "9\x85"} {
		f.Add(s)
	}
	f.Fuzz(checkOneArg)
}

func checkOneArg(t *testing.T, arg string) {
	c := command{name: "RETR", arg: arg}
	got, ok := c.oneArg()
	args := c.args()
	if ok != (len(args) == 1) || (ok && got != args[0]) {
		t.Errorf("oneArg(%q) = %q, %v; args gives %q", arg, got, ok, args)
	}
}
