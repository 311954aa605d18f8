package imapbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// stressSeconds is how long each checked stress run lasts in the tests.
const stressSeconds = 3

// checkStress runs the mixed workload from several concurrent clients
// against addr for a few seconds (STRESS_CLIENTS, default 6, and
// STRESS_SECONDS, default 3; IMAPLOAD_TRACE names a file to write every
// command and reply to) and fails on any protocol error the
// clients' mailbox models find, or when too little was done to tell.
func checkStress(t *testing.T, addr, user, pass string) {
	t.Helper()
	clients, secs := 6, stressSeconds
	if n, err := strconv.Atoi(os.Getenv("STRESS_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	if n, err := strconv.Atoi(os.Getenv("STRESS_SECONDS")); err == nil && n > 0 {
		secs = n
	}
	l := Load{Addr: addr, User: user, Password: pass, Clients: clients, Duration: time.Duration(secs) * time.Second}
	if name := os.Getenv("IMAPLOAD_TRACE"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var mu sync.Mutex
		l.trace = func(s string) { mu.Lock(); fmt.Fprintln(f, s); mu.Unlock() }
	}
	r := l.Run(context.Background())
	t.Logf("%v", r)
	for _, e := range r.FirstProtocolErrors {
		t.Errorf("protocol error: %s", e)
	}
	if r.ProtocolErrors > 0 {
		t.Errorf("%d protocol errors", r.ProtocolErrors)
	}
	if r.Errors > 0 {
		t.Logf("errors (NO replies or failed sessions): %q", r.FirstErrors)
	}
	if r.Commands < 30 {
		t.Errorf("only %d commands answered", r.Commands)
	}
}

// TestStressMixFullserverNoProtocolErrors runs the checked stress mix
// against the fullserver binary (examples/fullserver, its IMAP listener
// only, a passwd-file user) serving a seeded INBOX: every reply must
// agree with the clients' models of their mailboxes.
func TestStressMixFullserverNoProtocolErrors(t *testing.T) {
	t.Parallel()
	addr := startFullserverIMAP(t)
	seed(t, addr, "bench", "pw-bench", 60)
	checkStress(t, addr, "bench", "pw-bench")
}

// TestDovecotStressMixNoProtocolErrors runs the same checked stress mix
// against a private Dovecot 2.3, the independent reference: a protocol
// error here means the checker asserts more than the RFCs do.
func TestDovecotStressMixNoProtocolErrors(t *testing.T) {
	t.Parallel()
	testutil.RequireBinary(t, "dovecot")
	_, addr := startDovecot(t)
	seed(t, addr, "bench", "x", 60)
	checkStress(t, addr, "bench", "x")
}

// startFullserverIMAP starts the fullserver binary built from this tree
// with only its IMAP listener (port 0, read from the welcome text), no
// TLS, a passwd-file user bench (password pw-bench) and per-address
// limits off (the load comes from one address); it returns the address.
func startFullserverIMAP(t testing.TB) string {
	fs := testutil.StartMailFullserver(t, testutil.MailFullserver{
		Protocol: "imap",
		Passwd:   "bench:{PLAIN}pw-bench::::::\n",
		Homes:    filepath.Join(testutil.SharedDir(t), "homes"),
		Extra:    "login_trusted_networks = 127.0.0.0/8",
	})
	return fs.Addr("imap")
}
