package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// The benchmark's knobs (environment variables, so that "go test -bench"
// needs no flags of its own):
//
//	POP3_BENCH_SECONDS  length of each load run (default 5)
//	POP3_BENCH_SCHEME   password scheme of alice's passwd-file entry on
//	                    both servers, e.g. SHA512-CRYPT or PLAIN; empty or
//	                    "none" means no password check on either side
//	                    (Dovecot's static passdb with nopassword=y)
//	POP3_BENCH_WIRINGS  comma-separated yubin wirings to run (default
//	                    all: open,backend,cached)
//	POP3_BENCH_SLICES   the run of each server is cut into this many
//	                    slices, the servers taking turns (default: one
//	                    slice per second; 1 runs each server in one go)
//	POP3_BENCH_CLIENT   load generator client: block (default) or net
//	POP3_BENCH_CPUPROFILE  prefix: each yubin server process writes a
//	                    CPU profile of its whole run to prefix.<wiring>
//	POP3_BENCH_FULLSERVER_ALT  a fullserver binary built from another
//	                    commit, run beside this tree's as "fullserver-alt"
const benchPassword = "secret"

// anyPassword accepts every login, as the private Dovecot's static
// passdb (nopassword) does, so both servers do the same auth work.
type anyPassword struct{}

func (anyPassword) Mechanisms(*auth.ConnInfo) []string   { return nil }
func (anyPassword) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (anyPassword) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return nil, auth.ErrUnsupportedMechanism
}
func (anyPassword) Login(_ context.Context, _ *auth.ConnInfo, user, _ string) (*auth.Identity, error) {
	return &auth.Identity{User: user}, nil
}

// keepOpen is a Store whose Close does nothing: the cached Backend owns
// the real Store.
type keepOpen struct{ store.Store }

func (keepOpen) Close() error { return nil }

// cachedBackend keeps one maildir.Store per user for the life of the
// server, as a long-running program could; sessions share it. A
// maildir.Store takes no lock that keeps other processes out (Dovecot or
// a delivery agent on the same Maildir are noticed through inotify and
// rescans), so holding it open between sessions is safe.
func cachedBackend(home func(string) string) store.Backend {
	var mu sync.Mutex
	stores := map[string]*maildir.Store{}
	return store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		mu.Lock()
		defer mu.Unlock()
		st, ok := stores[user]
		if !ok {
			var err error
			if st, err = maildir.Open(filepath.Join(home(user), "Maildir"), maildir.Options{}); err != nil {
				return nil, err
			}
			stores[user] = st
		}
		return keepOpen{st}, nil
	})
}

// wirings are the ways a program can hand the pop3.Server its stores.
var wirings = []struct {
	name    string
	backend func(home func(string) string) store.Backend
}{
	// The plain library wiring: every session opens the user's Store.
	{"open", func(home func(string) string) store.Backend {
		return store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			return maildir.Open(filepath.Join(home(user), "Maildir"), maildir.Options{})
		})
	}},
	// examples/fullserver's wiring: a maildir.Backend shares one Store
	// among the user's concurrent sessions and keeps it open for
	// KeepOpen (30 s, as fullserver sets it) after the last.
	{"backend", func(home func(string) string) store.Backend {
		b := maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return filepath.Join(home(user), "Maildir"), nil
		}, maildir.Options{})
		b.KeepOpen = 30 * time.Second
		return b
	}},
	// One Store per user kept open for the server's life.
	{"cached", cachedBackend},
}

// wiringWanted reports whether POP3_BENCH_WIRINGS selects wiring.
func wiringWanted(wiring string) bool {
	sel := os.Getenv("POP3_BENCH_WIRINGS")
	if sel == "" {
		return true
	}
	for _, w := range strings.Split(sel, ",") {
		if strings.TrimSpace(w) == wiring {
			return true
		}
	}
	return false
}

// fillMaildir puts 100 × 10 KiB messages (LF line ends, as delivery
// agents write them) into the INBOX of the Maildir at root.
func fillMaildir(b *testing.B, root string) {
	st, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	line := strings.Repeat("x", 78) + "\n"
	body := strings.Repeat(line, 10*1024/len(line))
	for i := 0; i < 100; i++ {
		msg := fmt.Sprintf("From: a@example.org\nTo: alice@example.org\nSubject: message %d\n\n%s", i, body)
		if _, err := mb.Append(context.Background(), strings.NewReader(msg), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchScheme is POP3_BENCH_SCHEME, "" for no password check.
func benchScheme() string {
	s := os.Getenv("POP3_BENCH_SCHEME")
	if strings.EqualFold(s, "none") {
		return ""
	}
	return strings.ToUpper(s)
}

// writePasswd writes a passwd-file with alice's password hashed with
// scheme into dir and returns its path.
func writePasswd(b *testing.B, dir, scheme string) string {
	stored, err := auth.Hash(scheme, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte("alice:"+stored+"::::::\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// newAuthenticator is what yubin checks logins with: the auth package's
// Service over the same passwd-file Dovecot reads, or anyPassword when
// passwd is empty.
func newAuthenticator(passwd string) (auth.Authenticator, error) {
	if passwd == "" {
		return anyPassword{}, nil
	}
	pf := &auth.PasswdFile{Path: passwd}
	if err := pf.Reload(); err != nil {
		return nil, err
	}
	return &auth.Service{PassDB: pf, AllowPlaintext: true}, nil
}

func authenticator(b *testing.B, passwd string) auth.Authenticator {
	a, err := newAuthenticator(passwd)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// startYubin serves srv on 127.0.0.1:0 until the benchmark ends.
func startYubin(b *testing.B, srv *pop3.Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// server is one POP3 server under test; cpu reads the CPU time its
// processes have used so far.
type server struct {
	name, addr string
	cpu        func() time.Duration
}

// setupCompare fills alice's Maildir and serves it with a private
// Dovecot 2.3 pop3 and with yubin in every wiring (one process each), all
// authenticating alice the same way (benchScheme).
func setupCompare(b *testing.B) (dovecot server, yubin []server) {
	scheme := benchScheme()
	cfg := testutil.DovecotConfig{
		Protocols: "pop3",
		Listeners: []string{"pop3-login/pop3"},
		Extra: `pop3_uidl_format = %08Xu%08Xv
mail_max_userip_connections = 1000
service pop3-login {
  inet_listener pop3s {
    port = 0
  }
}
`,
	}
	var passwd string
	if scheme != "" {
		passwd = writePasswd(b, testutil.SharedDir(b), scheme)
		cfg.PasswdFile = passwd
	}
	d := testutil.StartDovecot(b, cfg)
	master := dovecotMaster(d.Conf)
	if master == 0 {
		b.Fatal("cannot find the Dovecot master process")
	}
	dovecot = server{"dovecot", d.Addr(b, "pop3-login/pop3"), func() time.Duration { return dovecotCPU(master) }}
	fillMaildir(b, filepath.Join(d.Home("alice"), "Maildir"))
	testutil.ChownTree(b, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	for _, w := range wirings {
		if !wiringWanted(w.name) {
			continue
		}
		addr, pid := startChild(b, w.name, filepath.Dir(d.Home("alice")), passwd)
		yubin = append(yubin, server{"yubin-" + w.name, addr, func() time.Duration { return cpuOf(pid) }})
	}
	if wiringWanted(fullserverName) {
		addr, pid := startFullserver(b, "", filepath.Dir(d.Home("alice")), scheme)
		yubin = append(yubin, server{fullserverName, addr, func() time.Duration { return cpuOf(pid) }})
	}
	if alt := os.Getenv("POP3_BENCH_FULLSERVER_ALT"); alt != "" {
		addr, pid := startFullserver(b, alt, filepath.Dir(d.Home("alice")), scheme)
		yubin = append(yubin, server{fullserverName + "-alt", addr, func() time.Duration { return cpuOf(pid) }})
	}
	if cannedWanted() {
		addr, pid := startChild(b, cannedName, filepath.Dir(d.Home("alice")), passwd)
		yubin = append(yubin, server{cannedName, addr, func() time.Duration { return cpuOf(pid) }})
	}
	waitReady(b, append([]server{dovecot}, yubin...))
	return dovecot, yubin
}

// waitReady waits until one full session succeeds on every server.
func waitReady(b *testing.B, servers []server) {
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range servers {
		for {
			_, err := Session(s.addr, "alice", benchPassword)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not ready: %v", s.name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkCompare runs the load against Dovecot and yubin (each wiring)
// with 1 and 10 clients, b.N rounds, and logs per round and as medians
// over the rounds: sessions/s, MB/s, the ratios to Dovecot, the server
// CPU time per session (all processes of the server; the ratio of CPU
// per session does not depend on what else the machine runs, sessions/s
// does) and the load generator's. In a round the servers take turns in
// one-second slices, so that all of them meet the same changes in the
// machine's other load.
func BenchmarkCompare(b *testing.B) {
	if err := SetClient(os.Getenv("POP3_BENCH_CLIENT")); err != nil {
		b.Fatal(err)
	}
	dv, ys := setupCompare(b)
	secs := 5
	if s := os.Getenv("POP3_BENCH_SECONDS"); s != "" {
		fmt.Sscan(s, &secs)
	}
	dur := time.Duration(secs) * time.Second
	slices := secs
	if s := os.Getenv("POP3_BENCH_SLICES"); s != "" {
		fmt.Sscan(s, &slices)
	}
	slices = max(slices, 1)
	scheme := benchScheme()
	if scheme == "" {
		scheme = "none (nopassword on both)"
	}
	b.Logf("password scheme: %s; %d s per server and client count, in %d interleaved slices", scheme, secs, slices)
	type key struct {
		name    string
		clients int
	}
	sess := map[key][]float64{}
	cpu := map[key][]float64{}
	ratio := map[key][]float64{}
	mbRatio := map[key][]float64{}
	cpuRatio := map[key][]float64{}
	clientCPU := map[key][]float64{}
	servers := append([]server{dv}, ys...)
	// run gives every server the load for dur in slices, taking turns
	// (in reverse order every other slice), so that a change in what
	// else the machine runs falls on all of them alike; it returns each
	// server's totals and its and the load generator's CPU time per
	// session.
	run := func(clients int) ([]Result, []float64, []float64) {
		tot := make([]Result, len(servers))
		srvCPU := make([]time.Duration, len(servers))
		genCPU := make([]time.Duration, len(servers))
		for k := 0; k < slices; k++ {
			for n := range servers {
				j := n
				if k%2 == 1 {
					j = len(servers) - 1 - n
				}
				s := servers[j]
				c0, l0 := s.cpu(), selfCPU()
				r := Load(context.Background(), s.addr, "alice", benchPassword, clients, dur/time.Duration(slices))
				srvCPU[j] += s.cpu() - c0
				genCPU[j] += selfCPU() - l0
				t := &tot[j]
				t.Clients = clients
				t.Sessions += r.Sessions
				t.Errors += r.Errors
				t.Bytes += r.Bytes
				t.Elapsed += r.Elapsed
				if t.FirstErr == nil {
					t.FirstErr = r.FirstErr
				}
			}
		}
		perSession := func(d []time.Duration) []float64 {
			out := make([]float64, len(d))
			for j := range d {
				out[j] = float64(d[j]) / float64(time.Millisecond) / float64(max(tot[j].Sessions, 1))
			}
			return out
		}
		return tot, perSession(srvCPU), perSession(genCPU)
	}
	for i := 0; i < b.N; i++ {
		for _, clients := range []int{1, 10} {
			tot, scpu, gcpu := run(clients)
			rd, dcpu := tot[0], scpu[0]
			b.Logf("round %d %-15s %v  %.1f ms CPU/session (load generator %.1f)", i+1, dv.name, rd, dcpu, gcpu[0])
			kd := key{dv.name, clients}
			sess[kd] = append(sess[kd], rd.SessionsPerSec())
			cpu[kd] = append(cpu[kd], dcpu)
			clientCPU[kd] = append(clientCPU[kd], gcpu[0])
			if rd.FirstErr != nil {
				b.Logf("dovecot: first error %v", rd.FirstErr)
			}
			for j, y := range ys {
				ry, ycpu := tot[j+1], scpu[j+1]
				k := key{y.name, clients}
				sess[k] = append(sess[k], ry.SessionsPerSec())
				cpu[k] = append(cpu[k], ycpu)
				clientCPU[k] = append(clientCPU[k], gcpu[j+1])
				ratio[k] = append(ratio[k], ry.SessionsPerSec()/rd.SessionsPerSec())
				mbRatio[k] = append(mbRatio[k], ry.MBPerSec()/rd.MBPerSec())
				cpuRatio[k] = append(cpuRatio[k], dcpu/ycpu)
				b.Logf("round %d %-15s %v  %.1f ms CPU/session (load generator %.1f); vs dovecot %.1fx sessions/s %.1fx MB/s, %.1fx less CPU/session", i+1, y.name, ry, ycpu, gcpu[j+1],
					ry.SessionsPerSec()/rd.SessionsPerSec(), ry.MBPerSec()/rd.MBPerSec(), dcpu/ycpu)
				if ry.FirstErr != nil {
					b.Logf("%s: first error %v", y.name, ry.FirstErr)
				}
			}
		}
	}
	for _, clients := range []int{1, 10} {
		kd := key{dv.name, clients}
		b.Logf("median of %d rounds, clients=%2d: %-15s %6.1f sessions/s, %5.1f ms CPU/session (load generator %.1f)", b.N, clients, dv.name, median(sess[kd]), median(cpu[kd]), median(clientCPU[kd]))
		for _, y := range ys {
			k := key{y.name, clients}
			b.Logf("median of %d rounds, clients=%2d: %-15s %6.1f sessions/s, %5.1f ms CPU/session (load generator %.1f); vs dovecot %.1fx sessions/s, %.1fx MB/s, %.1fx less CPU/session",
				b.N, clients, y.name, median(sess[k]), median(cpu[k]), median(clientCPU[k]), median(ratio[k]), median(mbRatio[k]), median(cpuRatio[k]))
			b.ReportMetric(median(ratio[k]), fmt.Sprintf("x-%s-%dc", y.name, clients))
		}
	}
}

// setupYubin serves a fresh Maildir of 100 × 10 KiB messages with yubin
// alone (no Dovecot needed), for profiling.
func setupYubin(b *testing.B, wiring string) string {
	home := b.TempDir()
	fillMaildir(b, filepath.Join(home, "alice", "Maildir"))
	var passwd string
	if s := benchScheme(); s != "" {
		passwd = writePasswd(b, home, s)
	}
	homeOf := func(user string) string { return filepath.Join(home, user) }
	for _, w := range wirings {
		if w.name == wiring {
			srv := &pop3.Server{Authenticator: authenticator(b, passwd), Backend: w.backend(homeOf), MaxUserIPConnections: -1}
			addr := startYubin(b, srv)
			waitReady(b, []server{{"yubin", addr, nil}})
			return addr
		}
	}
	b.Fatalf("unknown wiring %q", wiring)
	return ""
}

// BenchmarkYubinSession measures one full session against yubin alone,
// per wiring.
func BenchmarkYubinSession(b *testing.B) {
	for _, w := range wirings {
		b.Run(w.name, func(b *testing.B) {
			addr := setupYubin(b, w.name)
			b.ResetTimer()
			var bytes int64
			for i := 0; i < b.N; i++ {
				n, err := Session(addr, "alice", benchPassword)
				if err != nil {
					b.Fatal(err)
				}
				bytes = n
			}
			b.SetBytes(bytes)
		})
	}
}

// BenchmarkYubinLoad runs the 10-client load against yubin alone, per
// wiring (for profiling).
func BenchmarkYubinLoad(b *testing.B) {
	for _, w := range wirings {
		b.Run(w.name, func(b *testing.B) {
			addr := setupYubin(b, w.name)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := Load(context.Background(), addr, "alice", benchPassword, 10, 5*time.Second)
				b.Logf("yubin-%s %v", w.name, r)
			}
		})
	}
}
