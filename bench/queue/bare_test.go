package queuebench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bare is bench/smtp's SMTP server (smtp.Server straight into
// maildir.Store.Deliver, no policy, logging, metrics or spool), run from
// that package's test binary in its child-server mode: the reference for
// what the fullserver adds on top of the library.
type bare struct {
	cmd  *exec.Cmd
	addr string
	base string
}

func startBare(b *testing.B) *bare {
	dir := b.TempDir()
	bin := filepath.Join(dir, "smtpbench")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBinary(), "test", "-c", "-o", bin, "./bench/smtp")
	build.Dir = repoRoot(b)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go test -c ./bench/smtp: %v\n%s", err, out)
	}
	s := &bare{base: filepath.Join(dir, "mail")}
	if err := os.MkdirAll(s.base, 0o755); err != nil {
		b.Fatal(err)
	}
	s.cmd = exec.Command(bin, "-test.run=^$")
	s.cmd.Env = append(os.Environ(), "YUBIN_BENCH_SERVER=smtp", "YUBIN_BENCH_SERVER_BASE="+s.base)
	s.cmd.Stderr = os.Stderr
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the child serves until its stdin closes
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("bench/smtp server did not start: %v", err)
	}
	s.addr = strings.TrimSpace(line)
	return s
}
