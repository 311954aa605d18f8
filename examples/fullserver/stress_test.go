package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// TestStressVsDovecot is issue 14's stress-mix measurement through the
// fullserver binary: package imapbench's mixed workload (clients that
// reconnect every few commands; LOGIN, SELECT, FETCH of flags, headers
// and bodies, STORE, SEARCH, APPEND, EXPUNGE, LOGOUT), run by the
// imapload command in a process of its own, at 10 and 50 clients,
// against the fullserver and against a private Dovecot 2.3 with warm
// login processes (service_count = 0), both with SHA512-CRYPT
// passwords and a 300-message INBOX, in the same run, three rounds
// (YUBIN_STRESS_ROUNDS), 10 s each (YUBIN_STRESS_SECONDS); it logs the
// medians and the yubin/Dovecot ratio of commands per second.
//
// It is a measurement, not a check: it runs only with
// YUBIN_STRESS_BENCH=1.
//
//	YUBIN_STRESS_BENCH=1 go test -run StressVsDovecot -v ./examples/fullserver
func TestStressVsDovecot(t *testing.T) {
	if os.Getenv("YUBIN_STRESS_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_STRESS_BENCH=1 to run it")
	}
	secs, rounds := envInt("YUBIN_STRESS_SECONDS", 10), envInt("YUBIN_STRESS_ROUNDS", 3)
	load := filepath.Join(t.TempDir(), "imapload")
	if out, err := exec.Command("go", "build", "-o", load, "github.com/yubinmail/yubin/bench/imap/cmd/imapload").CombinedOutput(); err != nil {
		t.Fatalf("building imapload: %v\n%s", err, out)
	}

	// The load comes from one address: per-address limits off, and
	// 127.0.0.1 trusted (yubin's auth counts attempts in flight per
	// address; Dovecot penalises only failed ones).
	in := newInstance(t, "mail_max_userip_connections = 10000\nprocess_limit = 2000\nlogin_max_connections_per_ip = 10000\nlogin_trusted_networks = 127.0.0.0/8\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("bench")
	in.start()
	if os.Getenv("YUBIN_CPUPROFILE") != "" {
		// cpuprofile.go: SIGUSR2 writes the profile, before the
		// instance's own cleanup ends the server.
		t.Cleanup(func() {
			in.cmd.Process.Signal(syscall.SIGUSR2)
			time.Sleep(2 * time.Second)
		})
	}
	yubinAddr := in.addr("imap")

	hash, err := auth.Hash("SHA512-CRYPT", "pw-bench")
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(testutil.SharedDir(t), "passwd")
	if err := os.WriteFile(pwFile, []byte("bench@localhost:"+hash+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols:  "imap",
		Listeners:  []string{"imap-login/imap"},
		PasswdFile: pwFile,
		Extra: `
default_process_limit = 2000
default_client_limit = 4000
service imap-login {
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = 2000
}
protocol imap {
  mail_max_userip_connections = 10000
}
`,
	})
	dovecotAddr := d.Addr(t, "imap-login/imap")
	for _, addr := range []string{dovecotAddr, yubinAddr} {
		seedINBOX(t, addr, "bench@localhost", "pw-bench", 300)
	}

	type result struct {
		Commands, Errors int64
		FirstErrors      []string
		PerSecond        float64
	}
	run := func(addr string, clients int) result {
		var before time.Duration
		if addr == yubinAddr {
			before = procCPU(in.cmd.Process.Pid)
		}
		out, err := exec.Command(load, "-addr", addr, "-user", "bench@localhost", "-pass", "pw-bench",
			"-clients", strconv.Itoa(clients), "-seconds", strconv.Itoa(secs)).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("imapload: %v\n%s", err, stderr)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("imapload output %q: %v", out, err)
		}
		if addr == yubinAddr && r.Commands > 0 {
			t.Logf("fullserver CPU per command, %d clients: %.1f µs", clients, float64((procCPU(in.cmd.Process.Pid)-before).Microseconds())/float64(r.Commands))
		}
		return r
	}
	type series struct{ dovecot, yubin, ratio []float64 }
	all := map[int]*series{10: {}, 50: {}}
	for i := 0; i < rounds; i++ {
		for _, clients := range []int{10, 50} {
			dv := run(dovecotAddr, clients)
			yb := run(yubinAddr, clients)
			t.Logf("round %d, %d clients: dovecot %.0f cmd/s (%d errors %q), yubin %.0f cmd/s (%d errors %q), ratio %.2f",
				i+1, clients, dv.PerSecond, dv.Errors, dv.FirstErrors, yb.PerSecond, yb.Errors, yb.FirstErrors, yb.PerSecond/dv.PerSecond)
			s := all[clients]
			s.dovecot = append(s.dovecot, dv.PerSecond)
			s.yubin = append(s.yubin, yb.PerSecond)
			s.ratio = append(s.ratio, yb.PerSecond/dv.PerSecond)
		}
	}
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(in.errText(), "\n") {
		if i := strings.Index(l, "]: "); i >= 0 && !strings.Contains(l, "auth: login") && !seen[l[i:]] && len(seen) < 10 {
			seen[l[i:]] = true
			t.Logf("fullserver: %s", l[i+3:])
		}
	}
	for _, clients := range []int{10, 50} {
		s := all[clients]
		t.Logf("%d clients, medians of %d rounds: dovecot %.0f cmd/s, yubin %.0f cmd/s, yubin/dovecot %.2f (rounds %.2f)",
			clients, rounds, median(s.dovecot), median(s.yubin), median(s.ratio), s.ratio)
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// seedINBOX appends n small messages to user's INBOX over IMAP.
func seedINBOX(t *testing.T, addr, user, pass string, n int) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	tagN := 0
	cmd := func(s string) {
		tagN++
		tag := "s" + strconv.Itoa(tagN)
		fmt.Fprintf(nc, "%s %s\r\n", tag, s)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %s", s, l)
				}
				return
			}
		}
	}
	cmd("LOGIN " + user + " " + pass)
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: seed%d@example.org\r\nTo: bench@example.org\r\nSubject: seed %d\r\nMessage-ID: <seed%d@bench>\r\n\r\nseed body %d\r\n", i, i, i, i)
		cmd(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	}
	cmd("LOGOUT")
}
