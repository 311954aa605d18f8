package imap

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

var imaplibScript = "testdata/imaplib_client.py"

// TestImaplibSession runs Python's imaplib through login, list, select, fetch,
// store, search, append, copy, move, expunge and idle.
func TestImaplibSession(t *testing.T) {
	py := testutil.RequireBinary(t, "python3")
	env := newTestEnv(t, nil)
	host, port, _ := net.SplitHostPort(env.addr)
	out, err := exec.Command(py, imaplibScript, host, port, "alice", "secret").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}
