package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/smtp"
)

// The yubin servers run in a child process (this test binary started
// again with serverEnv set), as Postfix and Dovecot run in theirs: the
// load generator in the parent then does not take CPU from the server it
// measures, and the server gets its own share of a busy machine.
const serverEnv = "YUBIN_BENCH_SERVER"

func TestMain(m *testing.M) {
	if kind := os.Getenv(serverEnv); kind != "" {
		os.Exit(childServer(kind, os.Getenv(serverEnv+"_BASE")))
	}
	// Each server's files in block groups of their own, none churned by
	// an earlier run (see testutil.SpreadTempDir).
	_, done, err := testutil.SpreadTempDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	done()
	os.Exit(code)
}

// servers are the yubin servers the benchmarks start.
var servers = map[string]func(base string) (string, func(), error){
	"smtp": serveSMTP, "lmtp": serveLMTP, "discard": serveDiscard,
}

// serveDiscard is yubin's SMTP server with a Session that reads each
// message and drops it: what the protocol side costs, to set beside
// smtp-sink.
func serveDiscard(string) (string, func(), error) {
	srv := &smtp.Server{Hostname: "mx.example.jp", Logger: quiet, MaxConnsPerClient: -1,
		Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Close() }, nil
}

// childServer serves until its stdin is closed (the parent ended).
func childServer(kind, base string) int {
	if path := os.Getenv(serverEnv + "_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	serve := servers[kind]
	addr, stop, err := serve(base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(addr)
	io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

// yubinServer starts yubin's SMTP or LMTP server over Maildirs under
// base in a child process and returns its address; YUBIN_BENCH_INPROC=1
// keeps it in this process instead.
func yubinServer(b *testing.B, kind, base string) string {
	if os.Getenv("YUBIN_BENCH_INPROC") == "1" {
		addr, stop, err := servers[kind](base)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
		return addr
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"="+kind, serverEnv+"_BASE="+base)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("%s server did not start: %v", kind, err)
	}
	addr := strings.TrimSpace(line)
	serverPIDs.Store(addr, cmd.Process.Pid)
	return addr
}

// serverPIDs maps a child server's address to its process, for its CPU
// time (serverCPU).
var serverPIDs sync.Map

// serverCPU is the user+system CPU time the child server at addr has
// used so far; 0 for a server in this process.
func serverCPU(addr string) time.Duration {
	pid, ok := serverPIDs.Load(addr)
	if !ok {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid.(int)))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
