package managesieve

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// TestSieveConnect drives yubin's server with the real sieve-connect
// (Debian package sieve-connect): STARTTLS with certificate
// verification against the test CA, PLAIN over TLS only
// (--noclearauth), then upload, list, activate, download, deactivate
// and delete, checking the user's Pigeonhole storage after each.
func TestSieveConnect(t *testing.T) {
	t.Parallel()
	bin := testutil.RequireBinary(t, "sieve-connect")
	tlsf := testutil.NewTLS(t)
	root := t.TempDir()
	tlsCounter := &tlsRecorder{Authenticator: &auth.Service{PassDB: fixedPassword{"alice", "s3cret"}, FailureDelay: -1, PenaltyBase: -1}}
	srv := &Server{
		TLSConfig:     tlsf.ServerConfig(),
		Authenticator: tlsCounter,
		Backend:       storeBackend(root, sievestore.Store{}),
		Check:         sievecCheck(t),
	}
	addr := startServer(t, srv)
	host, port, _ := net.SplitHostPort(addr)
	home := filepath.Join(root, "alice")
	work := t.TempDir()
	run := func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		base := []string{"--server", host, "--port", port, "--user", "alice", "--passwordfd", "0",
			"--tlscafile", tlsf.CertFile, "--tlshostname", "127.0.0.1", "--noclearauth", "--authmech", "PLAIN"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		cmd.Stdin = strings.NewReader("s3cret\n")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "HOME="+work)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	script := "require [\"fileinto\"];\r\nif header :contains \"Subject\" \"[list]\" {\r\n  fileinto \"Lists\";\r\n}\r\n"
	local := filepath.Join(work, "lists.sieve")
	if err := os.WriteFile(local, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run("--upload", "--localsieve", local, "--remotesieve", "lists"); err != nil {
		t.Fatalf("upload: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(home, "sieve", "lists.sieve")); err != nil || string(b) != script {
		t.Fatalf("stored script = %q, %v", b, err)
	}
	if out, err := run("--activate", "--remotesieve", "lists"); err != nil {
		t.Fatalf("activate: %v\n%s", err, out)
	}
	if target, err := os.Readlink(filepath.Join(home, ".dovecot.sieve")); err != nil || target != "sieve/lists.sieve" {
		t.Fatalf("active link = %q, %v", target, err)
	}
	out, err := run("--list")
	if err != nil || !strings.Contains(out, `"lists" ACTIVE`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	dl := filepath.Join(work, "downloaded.sieve")
	if out, err := run("--download", "--remotesieve", "lists", "--localsieve", dl); err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(dl); err != nil || string(b) != script {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	// A script that does not compile is refused with sievec's message.
	bad := filepath.Join(work, "bad.sieve")
	os.WriteFile(bad, []byte("fileinto \"x\";\r\n"), 0o600)
	out, err = run("--upload", "--localsieve", bad, "--remotesieve", "bad")
	if err == nil || !strings.Contains(out, "line 1: error") {
		t.Fatalf("bad upload: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(home, "sieve", "bad.sieve")); !os.IsNotExist(err) {
		t.Fatalf("refused script stored: %v", err)
	}
	if out, err := run("--delete", "--remotesieve", "lists"); err == nil {
		t.Fatalf("deleting the active script succeeded:\n%s", out)
	}
	if out, err := run("--deactivate"); err != nil {
		t.Fatalf("deactivate: %v\n%s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(home, ".dovecot.sieve")); !os.IsNotExist(err) {
		t.Fatalf("link left after deactivate: %v", err)
	}
	if out, err := run("--delete", "--remotesieve", "lists"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(home, "sieve", "lists.sieve")); !os.IsNotExist(err) {
		t.Fatalf("script left after delete: %v", err)
	}
	if n, plain := tlsCounter.counts(); n < 8 || plain != 0 {
		t.Errorf("%d SASL exchanges over TLS, %d without; want every one over TLS", n, plain)
	}
	// A wrong password is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--server", host, "--port", port, "--user", "alice", "--passwordfd", "0",
		"--tlscafile", tlsf.CertFile, "--tlshostname", "127.0.0.1", "--noclearauth", "--list")
	cmd.Stdin = strings.NewReader("wrong\n")
	cmd.Env = append(os.Environ(), "HOME="+work)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("wrong password accepted:\n%s", out)
	}
}

// tlsRecorder counts the SASL exchanges started with and without TLS.
type tlsRecorder struct {
	auth.Authenticator
	mu         sync.Mutex
	tls, plain int
}

func (r *tlsRecorder) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	r.mu.Lock()
	if c.TLS != nil {
		r.tls++
	} else {
		r.plain++
	}
	r.mu.Unlock()
	return r.Authenticator.NewSASL(ctx, mech, c)
}

func (r *tlsRecorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tls, r.plain
}
