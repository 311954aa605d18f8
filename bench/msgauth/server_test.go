package msgauthbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// server is a running fullserver process.
type server struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	addr   string
	data   string
}

// build compiles examples/fullserver into dir.
func build(b *testing.B, dir string) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(dir, "fullserver")
	goBin := "go"
	if r := os.Getenv("GOROOT"); r != "" {
		goBin = filepath.Join(r, "bin", "go")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./examples/fullserver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs bin with a private main.cf: the MX listener on 127.0.0.1
// port 0, user u0@example.jp, and 127.0.0.1 outside mynetworks so that
// its mail counts as from another host.
func start(b *testing.B, bin, extra string, env ...string) *server {
	dir := testutil.SharedDir(b)
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "passwd"), []byte("u0@example.jp:{PLAIN}secret::::::\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cf := filepath.Join(dir, "main.cf")
	conf := fmt.Sprintf(`data_directory = %s
mail_owner = nobody
allow_nobody_mail_owner = yes
myhostname = mx.example.jp
mydestination = example.jp
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.0/24
smtp_port = 0
submission_port =
submissions_port =
protocols = none
smtpd_tls_security_level = none
smtpd_client_connection_count_limit = 0
shutdown_timeout = 5s
%s
`, data, extra)
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	s := &server{data: data}
	logf, err := os.Create(filepath.Join(dir, "maillog"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	// Ended by stop: SIGTERM (it drains), SIGKILL 10 s later.
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.cmd = exec.CommandContext(ctx, bin, "-config", cf)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = 10 * time.Second
	s.cmd.Stderr = logf
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == "smtp" {
				ready <- fs[1]
			}
		}
		close(ready)
	}()
	b.Cleanup(s.stop)
	select {
	case addr, ok := <-ready:
		if ok {
			s.addr = addr
			return s
		}
	case <-time.After(30 * time.Second):
	}
	log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
	b.Fatalf("fullserver did not start:\n%s", log)
	return nil
}

// writeProfile asks a server started with YUBIN_CPUPROFILE to write its
// CPU profile (SIGUSR2) and waits, bounded, until the file stops growing.
func (s *server) writeProfile(b *testing.B, path string) {
	if err := s.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		b.Fatal(err)
	}
	last := int64(-1)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && fi.Size() == last {
			return
		} else if err == nil {
			last = fi.Size()
		}
	}
}

// stop ends the server by its PID (the command's Cancel and WaitDelay).
func (s *server) stop() {
	s.cancel()
	s.cmd.Wait()
}

// cpu is the server process's user and system time so far
// (/proc/PID/stat, in clock ticks of 10 ms).
func (s *server) cpu(b *testing.B) (user, sys time.Duration) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	i := strings.LastIndexByte(string(raw), ')')
	f := strings.Fields(string(raw[i+1:]))
	// f[0] is field 3; utime and stime are fields 14 and 15.
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u) * 10 * time.Millisecond, time.Duration(st) * 10 * time.Millisecond
}

// delivered counts the messages in u0's Maildir.
func (s *server) delivered() int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(s.data, "mail", "example.jp", "u0", "Maildir", sub))
		n += len(ents)
	}
	return n
}

// waitDelivered waits (bounded) until u0's Maildir holds n messages.
func (s *server) waitDelivered(b *testing.B, n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for s.delivered() < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d messages delivered", s.delivered(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
