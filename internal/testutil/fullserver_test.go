package testutil

import (
	"reflect"
	"testing"
)

// TestWelcomeAddrs reads the listener lines of the fullserver's welcome
// text (the part after "yubin mail host running.") and stops at the
// first line that is not one.
func TestWelcomeAddrs(t *testing.T) {
	rest := "  smtp         127.0.0.1:2525\n" +
		"  lmtp         /data/lmtp.sock\n" +
		"  lmtp         127.0.0.1:24\n" +
		"  pop3         127.0.0.1:41234\n" +
		"\nPoint a mail client at 127.0.0.1 as the user above:\n" +
		"  POP3                   port 41234 (STLS)\n"
	want := map[string][]string{
		"smtp": {"127.0.0.1:2525"},
		"lmtp": {"/data/lmtp.sock", "127.0.0.1:24"},
		"pop3": {"127.0.0.1:41234"},
	}
	if got := welcomeAddrs(rest); !reflect.DeepEqual(got, want) {
		t.Errorf("welcomeAddrs = %v, want %v", got, want)
	}
	if got := welcomeAddrs(""); len(got) != 0 {
		t.Errorf("welcomeAddrs of nothing = %v", got)
	}
}
