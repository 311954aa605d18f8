package ldap

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// benchConf is seed 003's dovecot-ldap.conf.ext (DN search as the
// service account, then an auth bind) for s, over plain LDAP so that
// both sides pay the same for the transport.
func benchConf(s *testutil.Slapd) string {
	return strings.Join([]string{
		"uris = " + s.LDAPURL, "dn = " + testutil.SlapdServiceDN, "dnpass = " + testutil.SlapdServicePW,
		"pass_filter = (&(objectClass=posixAccount)(uid=%n))", "auth_bind = yes",
		"base = ou=People,dc=example,dc=com", "scope = onelevel",
		"user_filter = (&(objectClass=posixAccount)(uid=%n))",
	}, "\n") + "\n"
}

// startFullserver builds examples/fullserver and starts it with
// passdb = ldap:conf and its auth-client listener (as Postfix's
// smtpd_sasl_type = dovecot would use it), auth_cache_size 0 (cold) or
// 10M (warm); it returns the socket's path and the server's process id.
//
// With YUBIN_LDAP_BENCH_PROFILE set to a directory, the server writes a
// CPU profile of the whole benchmark there, named after it
// (yubin-cold.prof...), for go tool pprof.
func startFullserver(b *testing.B, conf string, warm bool) (string, int) {
	dir := testutil.SharedDir(b)
	bin := filepath.Join(dir, "fullserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/fullserver").CombinedOutput(); err != nil {
		b.Fatalf("go build fullserver: %v\n%s", err, out)
	}
	confPath := filepath.Join(dir, "dovecot-ldap.conf.ext")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cache := "0"
	if warm {
		cache = "10M"
	}
	sock := filepath.Join(dir, "auth-client")
	var mc strings.Builder
	fmt.Fprintf(&mc, "data_directory = %s/data\nmail_owner = nobody\nallow_nobody_mail_owner = yes\n", dir)
	for _, p := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		fmt.Fprintf(&mc, "%s_port = 0\n", p)
	}
	fmt.Fprintf(&mc, "protocols = imap\nauth_client_listener = %s\npassdb = ldap:%s\nauth_cache_size = %s\n", sock, confPath, cache)
	mc.WriteString("auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.1/32\nsyslog_name = yubin-bench\n")
	cfg := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(cfg, []byte(mc.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfg)
	profile := os.Getenv("YUBIN_LDAP_BENCH_PROFILE")
	if profile != "" {
		name := "yubin-" + strings.ReplaceAll(strings.TrimPrefix(b.Name(), "BenchmarkSlapdVsDovecot/"), "/", "-") + ".prof"
		cmd.Env = append(os.Environ(), "YUBIN_CPUPROFILE="+filepath.Join(profile, name))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		if profile != "" {
			// The profile is written on SIGUSR2 (examples/fullserver/cpuprofile.go).
			cmd.Process.Signal(syscall.SIGUSR2)
			time.Sleep(500 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock, cmd.Process.Pid
		}
		select {
		case <-done:
			b.Fatalf("fullserver exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("fullserver did not start: %s", out.String())
		}
	}
}

// startDovecotLDAP starts Dovecot 2.3 with its LDAP passdb on the same
// configuration, auth_cache_size 0 (cold) or 10M (warm), and returns
// its auth-client socket and master process id.
func startDovecotLDAP(b *testing.B, conf string, warm bool) (string, int) {
	if _, err := os.Stat("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so"); err != nil {
		testutil.Unavailable(b, "Dovecot's LDAP module is missing (Debian package dovecot-ldap)")
	}
	dir := testutil.SharedDir(b)
	confPath := filepath.Join(dir, "dovecot-ldap.conf.ext")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	empty := filepath.Join(dir, "passwd")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	cache := "0"
	if warm {
		cache = "10M"
	}
	d := testutil.StartDovecot(b, testutil.DovecotConfig{PasswdFile: empty, Extra: fmt.Sprintf(
		"auth_cache_size = %s\nauth_cache_ttl = 1 hour\npassdb {\n  driver = ldap\n  args = %s\n}\n", cache, confPath)})
	return filepath.Join(d.Dir, "run", "auth-client"), processWithArg(b, d.Conf)
}

// processWithArg finds the process whose command line has arg.
func processWithArg(b *testing.B, arg string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte("\x00"+arg+"\x00")) {
			n, _ := strconv.Atoi(filepath.Base(d))
			return n
		}
	}
	b.Fatalf("no process with %s in its command line", arg)
	return 0
}

// passAttrsConf is benchConf with the passwords fetched from the
// directory (auth_bind = no, userPassword read by the service account)
// and verified by the server itself, as with seed 003's other layout.
func passAttrsConf(s *testutil.Slapd) string {
	return strings.Replace(benchConf(s), "auth_bind = yes", "auth_bind = no\npass_attrs = uid=user,userPassword=password", 1)
}

// side is one server under measurement.
type side struct {
	name   string
	users  []string // who logs in, in turn
	cl     *dovecotauth.Client
	pid    int // the server process (with its children)
	logins int64
	wall   time.Duration
	self   time.Duration // this process's CPU: the client
	srv    time.Duration // the server's CPU
	ldap   time.Duration // slapd's CPU
}

var benchConn = &auth.ConnInfo{Service: "imap", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
	LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143}}

// round logs alice and bob in from 16 goroutines for d and adds the
// counts and CPU times to sd.
func (sd *side) round(b *testing.B, d time.Duration, slapdPID int) {
	var n, failed atomic.Int64
	self0, ldap0, srv0 := selfCPU(), procCPU(slapdPID, false), procCPU(sd.pid, true)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; time.Since(start) < d; i++ {
				u := sd.users[i%len(sd.users)]
				if _, err := sd.cl.Login(context.Background(), benchConn, u, user(u).Password); err != nil {
					failed.Add(1)
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	sd.wall += time.Since(start)
	sd.logins += n.Load()
	sd.self += selfCPU() - self0
	sd.ldap += procCPU(slapdPID, false) - ldap0
	sd.srv += procCPU(sd.pid, true) - srv0
	if f := failed.Load(); f > 0 {
		b.Fatalf("%s: %d of %d logins failed", sd.name, f, n.Load())
	}
}

func (sd *side) per(d time.Duration) time.Duration { return d / time.Duration(max(sd.logins, 1)) }
func (sd *side) rate() float64                     { return float64(sd.logins) / sd.wall.Seconds() }

// BenchmarkSlapdVsDovecot compares logins against the same slapd, in
// the same run, in interleaved one-second rounds (b.N rounds: use
// -benchtime 5x): the fullserver with passdb = ldap: (this package
// behind yubin's auth service), and Dovecot 2.3's dovecot-ldap behind
// its auth process, each its own process, both asked through their
// auth-client sockets by the same client, with the auth cache off
// (cold: every login is a search and a bind) and on (warm); and cold
// with the password read from the directory and verified by the server
// (cold-passattrs: alice's SHA512-CRYPT, a search per login). It reports
// logins per second and CPU time per login of each server (with its
// children), of slapd and of the client.
//
//	go test -run XXX -bench SlapdVsDovecot -benchtime 5x ./auth/ldap
func BenchmarkSlapdVsDovecot(b *testing.B) {
	s := testutil.SharedSlapd(b)
	conf := benchConf(s)
	for _, m := range []struct {
		name  string
		warm  bool
		conf  string
		users []string
	}{
		{"cold", false, conf, []string{"alice", "bob"}},
		{"warm", true, conf, []string{"alice", "bob"}},
		{"cold-passattrs", false, passAttrsConf(s), []string{"alice"}},
	} {
		warm, conf := m.warm, m.conf
		b.Run(m.name, func(b *testing.B) {
			client := func(path string) *dovecotauth.Client {
				cl := &dovecotauth.Client{Path: path, AllowPlaintext: true, NoPenalty: true, Timeout: 10 * time.Second}
				b.Cleanup(func() { cl.Close() })
				for _, u := range m.users { // connections made, caches filled
					if _, err := cl.Login(context.Background(), benchConn, u, user(u).Password); err != nil {
						b.Fatalf("first login of %s at %s: %v", u, path, err)
					}
				}
				return cl
			}
			ypath, ypid := startFullserver(b, conf, warm)
			y := &side{name: "yubin", users: m.users, cl: client(ypath), pid: ypid}
			path, pid := startDovecotLDAP(b, conf, warm)
			d := &side{name: "dovecot", users: m.users, cl: client(path), pid: pid}
			b.ResetTimer()
			for i := range b.N {
				// Alternate who goes first, against drifts in the
				// machine's load.
				if i%2 == 0 {
					y.round(b, time.Second, s.PID())
					d.round(b, time.Second, s.PID())
				} else {
					d.round(b, time.Second, s.PID())
					y.round(b, time.Second, s.PID())
				}
			}
			b.StopTimer()
			µs := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
			b.ReportMetric(y.rate(), "yubin-logins/s")
			b.ReportMetric(d.rate(), "dovecot-logins/s")
			b.ReportMetric(y.rate()/d.rate(), "rate-ratio")
			b.ReportMetric(µs(y.per(y.srv)), "yubin-srv-µs/login")
			b.ReportMetric(µs(d.per(d.srv)), "dovecot-srv-µs/login")
			b.ReportMetric(float64(d.per(d.srv))/float64(max(y.per(y.srv), 1)), "srv-cpu-ratio")
			b.ReportMetric(µs(y.per(y.ldap)), "slapd-µs/yubin-login")
			b.ReportMetric(µs(d.per(d.ldap)), "slapd-µs/dovecot-login")
			b.ReportMetric(µs(y.per(y.self)), "client-µs/yubin-login")
			b.ReportMetric(µs(d.per(d.self)), "client-µs/dovecot-login")
		})
	}
}
