package smtp

import (
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCommandHookAndConnState: CommandHook sees every command under the
// name Postfix counts it by, with its success; ConnState sees the
// connection accepted, authenticated and closed, in that order.
func TestCommandHookAndConnState(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var cmds []string
	var states []ConnState
	closed := make(chan struct{})
	s := &Server{
		Backend:       DataFunc((&sink{}).Data),
		Authenticator: interopAuth(t),
		CommandHook: func(name string, ok bool, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if took < 0 {
				t.Errorf("%s took %v", name, took)
			}
			mark := "ok"
			if !ok {
				mark = "failed"
			}
			cmds = append(cmds, name+"="+mark)
		},
		ConnState: func(c net.Conn, st ConnState) {
			mu.Lock()
			defer mu.Unlock()
			states = append(states, st)
			if st == StateClosed {
				close(closed)
			}
		},
	}
	addr, _ := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220")
	c.expect("EHLO client.example", "250")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00secret"), "235")
	c.expect("XYZZY", "500")
	c.expect("MAIL FROM:<alice@example.jp>", "250")
	c.expect("RCPT TO:<bad address>", "5")
	c.expect("QUIT", "221")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no StateClosed")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"EHLO=ok", "AUTH=ok", "UNKNOWN=failed", "MAIL=ok", "RCPT=failed", "QUIT=ok"}
	if !slices.Equal(cmds, want) {
		t.Errorf("CommandHook saw %s, want %s", strings.Join(cmds, " "), strings.Join(want, " "))
	}
	if !slices.Equal(states, []ConnState{StateNew, StateAuth, StateClosed}) {
		t.Errorf("ConnState saw %v", states)
	}
}
