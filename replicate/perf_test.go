package replicate

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// writeMaildirMessages puts n messages of about size bytes into
// root/cur as a delivery agent would (no UIDs yet).
func writeMaildirMessages(t *testing.T, root string, n, size int) {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 2) + "\n"
	body := strings.Repeat(line, size/len(line))
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: a@example.org\nTo: alice@example.org\nSubject: perf %d\nMessage-ID: <perf.%d@example.org>\n\n%s", i, i, body)
		name := fmt.Sprintf("%d.M%dP1Q%d.perf,S=%d:2,S", 1700000000+i, i, i, len(msg))
		if err := os.WriteFile(filepath.Join(root, "cur", name), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPerfInitialSyncVsDoveadmBackup copies one large user to an empty
// partner: yubin's Sync over TLS on 127.0.0.1 against Dovecot's
// doveadm backup to a second Dovecot's doveadm server (tcp:), same
// messages, same run, fsyncs on in both. It runs only with
// YUBIN_REPLICATE_PERF=messages (e.g. 20000) and logs both times.
func TestPerfInitialSyncVsDoveadmBackup(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("YUBIN_REPLICATE_PERF"))
	if n <= 0 {
		t.Skip("set YUBIN_REPLICATE_PERF=<messages> to measure")
	}
	const size = 8 << 10
	ctx := context.Background()

	// yubin: A's Maildir indexed first, then the timed sync to B.
	srcRoot := t.TempDir()
	writeMaildirMessages(t, srcRoot, n, size)
	a, err := maildir.Open(srcRoot, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if st, err := a.Status(ctx, "INBOX"); err != nil || int(st.Messages) != n {
		t.Fatalf("source: %+v %v", st, err)
	}
	b, err := maildir.Open(t.TempDir(), maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srvTLS, cliTLS := testTLS(t)
	srv := &Server{Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) { return nopClose{b}, nil }),
		States: &StateStore{Dir: t.TempDir()}, Secret: "pw", TLSConfig: srvTLS}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	d := &Dialer{Addr: ln.Addr().String(), TLSConfig: cliTLS, Secret: "pw", Partner: "a"}
	start := time.Now()
	re, err := d.Dial(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	local := &LocalEndpoint{Store: a, States: &StateStore{Dir: t.TempDir()}, Partner: "b", User: "alice"}
	st, err := (&Syncer{}).Sync(ctx, local, re)
	re.Close()
	yubin := time.Since(start)
	if err != nil || st.Copied != n {
		t.Fatalf("yubin sync: %+v %v", st, err)
	}

	// Dovecot: the same files in Dovecot A's Maildir, indexed first,
	// then doveadm backup to Dovecot B's doveadm server.
	da := testutil.StartDovecot(t, testutil.DovecotConfig{Extra: "doveadm_password = pw\n"})
	db := testutil.StartDovecot(t, testutil.DovecotConfig{Listeners: []string{"doveadm/doveadm"}, Extra: "doveadm_password = pw\n"})
	home := da.Home("alice")
	writeMaildirMessages(t, filepath.Join(home, "Maildir"), n, size)
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	da.Doveadm(t, nil, "mailbox", "status", "-u", "alice", "messages", "INBOX")
	start = time.Now()
	da.Doveadm(t, nil, "backup", "-u", "alice", "tcp:"+db.Addr(t, "doveadm/doveadm"))
	dovecot := time.Since(start)
	out := db.Doveadm(t, nil, "-f", "flow", "mailbox", "status", "-u", "alice", "messages", "INBOX")
	if !strings.Contains(out, "messages="+strconv.Itoa(n)) {
		t.Fatalf("Dovecot B: %s", out)
	}
	mb := float64(n*size) / (1 << 20)
	t.Logf("initial sync of %d messages (%.0f MiB): yubin %v (%.1f MiB/s), doveadm backup %v (%.1f MiB/s), ratio yubin/dovecot %.2f",
		n, mb, yubin.Round(time.Millisecond), mb/yubin.Seconds(), dovecot.Round(time.Millisecond), mb/dovecot.Seconds(), yubin.Seconds()/dovecot.Seconds())
}
