package queuebench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// profileHook is compiled into the fullserver copy (through go build
// -overlay, the example's sources untouched) when a CPU profile is
// asked for: SIGUSR1 starts a profile into $QUEUE_BENCH_PROFILE_TO.N,
// SIGUSR2 stops it, so only the timed loads are profiled.
const profileHook = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("QUEUE_BENCH_PROFILE_TO")
	if path == "" {
		return
	}
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		n := 0
		for s := range c {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				n++
				f, _ = os.Create(fmt.Sprintf("%s.%d", path, n))
				if f != nil && pprof.StartCPUProfile(f) != nil {
					f.Close()
					f = nil
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				f.Close()
				f = nil
			}
		}
	}()
}
`

// goBinary is the go command that runs this benchmark (go test sets
// GOROOT in the test's environment), else the one on $PATH.
func goBinary() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// repoRoot is the module root (two levels above this directory).
func repoRoot(b testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		b.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildFullserver builds examples/fullserver into dir and returns the
// binary's path; with profiling it adds profileHook.
func buildFullserver(b testing.TB, dir string, profiling bool) string {
	var extra map[string]string
	if profiling {
		extra = map[string]string{"zz_benchprofile.go": profileHook}
	}
	return testutil.BuildFullserver(b, dir, extra)
}

// fullserver is a running examples/fullserver process.
type fullserver struct {
	*testutil.Fullserver
	addr    string
	data    string // data_directory
	profile string // profile prefix inside the shared directory, "" when off
	nprof   int    // profiles started so far
}

// fullserverConfig is the private main.cf: only the MX listener on
// 127.0.0.1, port 0 (the server binds an ephemeral port and names it in
// its welcome text), users u0..u(users-1)@example.jp from a passwd
// file, Maildirs under data/mail, relayhost for foreign domains. Like the
// private Postfix it offers no TLS and limits no client's connections.
func fullserverConfig(data string, sinkPort int, extra string) string {
	return testutil.FullserverConfig(data) + fmt.Sprintf(`myhostname = mx.example.jp
mydestination = example.jp
mynetworks = 127.0.0.0/8
smtp_port = 0
smtpd_tls_security_level = none
smtpd_client_connection_count_limit = 0
relayhost = [127.0.0.1]:%d
shutdown_timeout = 5s
%s
`, sinkPort, extra)
}

// startFullserver builds and starts the fullserver with users
// u0..u(users-1)@example.jp. It binds its MX listener on port 0 itself
// and names the address in its welcome text, so no other program can
// take the port first.
func startFullserver(b *testing.B, users, sinkPort int, extra string, profiling bool) *fullserver {
	dir := testutil.SharedDir(b) // reachable by mail_owner after the privilege drop
	bin := buildFullserver(b, dir, profiling)
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	var pw strings.Builder
	for i := 0; i < users; i++ {
		fmt.Fprintf(&pw, "u%d@example.jp:{PLAIN}secret::::::\n", i)
	}
	if err := os.WriteFile(filepath.Join(data, "passwd"), []byte(pw.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cf := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(cf, []byte(fullserverConfig(data, sinkPort, extra)), 0o644); err != nil {
		b.Fatal(err)
	}
	f := &fullserver{data: data}
	// QUEUE_BENCH_FULLSERVER_ENV: VAR=VALUE words added to its
	// environment (GOMAXPROCS=4, GODEBUG=...).
	env := strings.Fields(os.Getenv("QUEUE_BENCH_FULLSERVER_ENV"))
	if profiling {
		f.profile = filepath.Join(dir, "cpu.pprof")
		env = append(env, "QUEUE_BENCH_PROFILE_TO="+f.profile)
	}
	f.Fullserver = testutil.StartFullserver(b, bin, cf, filepath.Join(dir, "maillog"), env...)
	if f.addr = f.Addr("smtp"); f.addr == "" {
		b.Fatalf("fullserver has no smtp listener: %v", f.Addrs)
	}
	return f
}

// startProfile and stopProfile bracket one profiled load; each makes a
// file prefix.N (see profileHook).
func (f *fullserver) startProfile() {
	if f.profile != "" {
		f.nprof++
		f.Cmd.Process.Signal(syscall.SIGUSR1)
	}
}

func (f *fullserver) stopProfile() {
	if f.profile != "" {
		f.Cmd.Process.Signal(syscall.SIGUSR2)
	}
}

// saveProfiles copies the profiles (made by mail_owner in the shared
// directory, removed with it) to prefix.1, prefix.2, ...
func (f *fullserver) saveProfiles(b *testing.B, prefix string) {
	time.Sleep(200 * time.Millisecond) // the last SIGUSR2 handled
	for i := 1; i <= f.nprof; i++ {
		data, err := os.ReadFile(fmt.Sprintf("%s.%d", f.profile, i))
		if err != nil {
			b.Logf("profile %d: %v", i, err)
			continue
		}
		if err := os.WriteFile(fmt.Sprintf("%s.%d", prefix, i), data, 0o644); err != nil {
			b.Logf("profile %d: %v", i, err)
		}
	}
}
