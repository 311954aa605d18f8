package sievebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/lmtp"
)

// concurrency is how many LMTP connections deliver at once.
const concurrency = 4

// server is one LMTP server under load.
type server struct {
	network, addr string
	pid           int    // root of the server's process tree
	maildir       string // the user's Maildir
	logFile       string
}

// countMail counts the messages of a Maildir++ folder.
func countMail(md, folder string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		fs, _ := filepath.Glob(filepath.Join(md, folder, sub, "*"))
		n += len(fs)
	}
	return n
}

// BenchmarkSieveLMTP delivers b.N messages over LMTP to one user with
// the 50-rule script, to the fullserver and to Dovecot + Pigeonhole.
func BenchmarkSieveLMTP(b *testing.B) {
	script := rules50()
	yubin := startFullserver(b, script)
	dovecot := startDovecotSieve(b, script)
	for _, s := range []struct {
		name string
		srv  server
	}{{"fullserver", yubin}, {"dovecot", dovecot}} {
		b.Run(s.name, func(b *testing.B) {
			// One warm-up delivery (folders made, caches filled).
			deliver(b, s.srv, 0, 1)
			cpu0 := treeCPU(s.srv.pid)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := (b.N + concurrency - 1) / concurrency
			for c := 0; c < concurrency; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					deliver(b, s.srv, c*per+1, min(per, b.N-c*per))
				}(c)
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			cpu := treeCPU(s.srv.pid) - cpu0
			if n := countMail(s.srv.maildir, ".Projects.p01"); n == 0 {
				logs, _ := os.ReadFile(s.srv.logFile)
				dirs, _ := filepath.Glob(filepath.Join(s.srv.maildir, "..", "*"))
				b.Fatalf("%s filed nothing into Projects/p01: the script did not run (%v)\n%s", s.name, dirs, logs[max(0, len(logs)-3000):])
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "deliveries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/delivery")
		})
	}
}

// deliver sends n messages on one connection.
func deliver(b *testing.B, s server, first, n int) {
	if n <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := lmtp.Dial(ctx, s.network, s.addr)
	if err != nil {
		b.Error(err)
		return
	}
	defer c.Close()
	if err := c.Hello(ctx, "bench.example"); err != nil {
		b.Error(err)
		return
	}
	for i := first; i < first+n; i++ {
		errs, err := c.Send(ctx, fmt.Sprintf("sender%d@example.org", i%50), []string{"bench@localhost"}, strings.NewReader(message(i)))
		if err != nil {
			b.Error(err)
			return
		}
		for _, e := range errs {
			if e != nil {
				b.Error(e)
				return
			}
		}
	}
	c.Quit(ctx)
}

// treeCPU sums user+system CPU of pid and its descendants (the living
// ones and those they reaped).
func treeCPU(root int) time.Duration {
	type st struct {
		ppid      int
		self, chl time.Duration
	}
	all := map[int]st{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(raw, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+1:]))
		if len(f) < 15 {
			continue
		}
		n := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
		all[pid] = st{ppid: int(n(4)), self: time.Duration(n(14)+n(15)) * 10 * time.Millisecond, chl: time.Duration(n(16)+n(17)) * 10 * time.Millisecond}
	}
	var sum time.Duration
	for pid, s := range all {
		for p := pid; p != 0; {
			if p == root {
				sum += s.self + s.chl
				break
			}
			ps, ok := all[p]
			if !ok {
				break
			}
			p = ps.ppid
		}
	}
	return sum
}

// startFullserver builds and starts the fullserver with one user whose
// active script is script, and returns its LMTP socket.
func startFullserver(b *testing.B, script string) server {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	dir := testutil.SharedDir(b)
	bin := filepath.Join(dir, "fullserver")
	build := exec.Command("go", "build", "-o", bin, "./examples/fullserver")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "main.cf")
	var conf strings.Builder
	fmt.Fprintf(&conf, "data_directory = %s\nmail_owner = nobody\nallow_nobody_mail_owner = yes\n", data)
	for _, p := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		fmt.Fprintf(&conf, "%s_port = 0\n", p)
	}
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(data, 0o755)
	add := exec.Command(bin, "-config", cfg, "adduser", "bench@localhost")
	add.Stdin = strings.NewReader("pw-bench\n")
	if out, err := add.CombinedOutput(); err != nil {
		b.Fatalf("adduser: %v\n%s", err, out)
	}
	home := filepath.Join(data, "mail", "localhost", "bench")
	os.MkdirAll(home, 0o755)
	if err := os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	testutil.ChownTree(b, data, testutil.PlainUID, testutil.PlainGID)
	cmd := exec.Command(bin, "-config", cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sock := filepath.Join(data, "lmtp.sock")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := lmtp.Dial(context.Background(), "unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("fullserver did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return server{network: "unix", addr: sock, pid: cmd.Process.Pid, maildir: filepath.Join(home, "Maildir")}
}

// startDovecotSieve starts Dovecot's LMTP with the sieve plugin and the
// same script for the same user.
func startDovecotSieve(b *testing.B, script string) server {
	testutil.RequireBinary(b, "sieve-test") // dovecot-sieve installed
	d := testutil.StartDovecot(b, testutil.DovecotConfig{
		Protocols: "lmtp",
		Listeners: []string{"lmtp/lmtp"},
		Extra: "protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n  postmaster_address = postmaster@localhost\n}\n" +
			"plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n" +
			"lmtp_save_to_detail_mailbox = no\n" +
			// yubin's folder separator, so that "Projects/p01" is
			// the same Maildir++ folder .Projects.p01 in both.
			"namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
	})
	home := d.Home("bench@localhost")
	os.MkdirAll(home, 0o755)
	if err := os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	testutil.ChownTree(b, home, testutil.PlainUID, testutil.PlainGID)
	pid := 0
	if raw, err := os.ReadFile(filepath.Join(d.Dir, "run", "master.pid")); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
	}
	return server{network: "tcp", addr: d.Addr(b, "lmtp/lmtp"), pid: pid, maildir: filepath.Join(home, "Maildir"), logFile: d.Log}
}
