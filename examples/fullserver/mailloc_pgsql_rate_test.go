package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// smtpSourceLoad runs Postfix's smtp-source (a load generator of its
// own, in its own processes) against the instances' LMTP sockets at
// once (-L, persistent sessions): one process per recipient in rcpts
// (local parts; the i-th goes to ins[i % len(ins)]) with sessions
// sessions each, n messages in all. It returns deliveries per second
// and the servers' CPU time per delivery.
func smtpSourceLoad(t *testing.T, bin string, ins []*instance, rcpts []string, sessions, n int) (float64, time.Duration) {
	t.Helper()
	var cpu0 time.Duration
	for _, in := range ins {
		cpu0 += procCPU(in.cmd.Process.Pid)
	}
	per := n / len(rcpts)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(rcpts))
	for i, rcpt := range rcpts {
		in := ins[i%len(ins)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(bin, "-L", "-d", "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(per),
				"-l", "4096", "-f", "alice@localhost", "-t", rcpt+"@localhost", "-M", "load.example",
				"unix:"+filepath.Join(in.data, "lmtp.sock")).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("smtp-source: %v\n%s", err, out)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var cpu time.Duration
	for _, in := range ins {
		cpu += procCPU(in.cmd.Process.Pid)
	}
	done := per * len(rcpts)
	return float64(done) / wall.Seconds(), (cpu - cpu0) / time.Duration(done)
}

func median[T int64 | float64 | time.Duration](v []T) T {
	s := append([]T(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestSmtpSourcePgstoreDeliveryRate compares LMTP deliveries/s into
// Maildir through one fullserver with deliveries into pgstore through
// one and through three fullservers on one PostgreSQL, in the same
// run, rounds interleaved; fsync on for both (the cluster starts with
// fsync, synchronous_commit and full_page_writes on). The load comes
// from Postfix's smtp-source, a separate process. Reported: medians of
// the rates and of CPU per delivery (server, and PostgreSQL's), and of
// the per-round ratio of three pgstore servers to one Maildir server.
// A measurement: YUBIN_PGSTORE_BENCH=1 (YUBIN_PGSTORE_BENCH_N messages
// per run, default 1500; YUBIN_PGSTORE_BENCH_ROUNDS, default 5).
func TestSmtpSourcePgstoreDeliveryRate(t *testing.T) {
	if os.Getenv("YUBIN_PGSTORE_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_PGSTORE_BENCH=1")
	}
	bin := testutil.RequireBinary(t, "smtp-source")
	n, rounds := 1500, 5
	if v, err := strconv.Atoi(os.Getenv("YUBIN_PGSTORE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("YUBIN_PGSTORE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	users := make([]string, 12)
	for i := range users {
		users[i] = "u" + strconv.Itoa(i)
	}
	md := newInstance(t, "")
	md.addUsers(append(users, "bob")...)
	md.start()
	c, err := testutil.StartPGClusterDurable()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	if out, _ := c.Exec("postgres", "SHOW fsync"); strings.TrimSpace(out) != "on" {
		t.Fatalf("fsync is %q", out)
	}
	db := c.NewDatabase(t)
	var pg []*instance
	for range 3 {
		in := newInstance(t, "mail_location = pgsql:"+c.ConnString(db)+"\n")
		in.addUsers(append(users, "bob")...)
		in.start()
		pg = append(pg, in)
	}
	// Transactions committed in the database (the statistics lag by up
	// to a second: pg_stat_force_next_flush is not there in 15).
	xacts := func() int64 {
		time.Sleep(1100 * time.Millisecond)
		out, _ := c.Exec(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
		v, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		return v
	}
	type result struct {
		rate      []float64
		cpu, dbc  []time.Duration
		ratioToMD []float64
	}
	// Two loads: 12 sessions into one mailbox (bob's), and 12 sessions
	// for 12 users (one each).
	loads := []struct {
		name   string
		rcpts  func(servers int) []string
		sess   func(servers int) int
		result map[string]*result
	}{
		{"one mailbox", func(k int) []string { return []string{"bob", "bob", "bob"}[:k] }, func(k int) int { return 12 / k }, map[string]*result{}},
		{"12 users", func(int) []string { return users }, func(int) int { return 1 }, map[string]*result{}},
	}
	setups := []struct {
		name string
		ins  []*instance
		pg   bool
	}{{"Maildir, 1 server", []*instance{md}, false}, {"pgstore, 3 servers", pg, true}, {"pgstore, 1 server", pg[:1], true}}
	smtpSourceLoad(t, bin, []*instance{md}, users, 1, 120) // warm up
	smtpSourceLoad(t, bin, pg, users, 1, 120)
	for round := range rounds {
		for _, l := range loads {
			var mdRate float64
			for _, s := range setups {
				db0, x0 := c.CPUTime(), xacts()
				r, cpu := smtpSourceLoad(t, bin, s.ins, l.rcpts(len(s.ins)), l.sess(len(s.ins)), n)
				var dbc time.Duration
				var xpd float64
				if s.pg {
					dbc = (c.CPUTime() - db0) / time.Duration(n)
					xpd = float64(xacts()-x0) / float64(n)
				} else {
					mdRate = r
				}
				res := l.result[s.name]
				if res == nil {
					res = &result{}
					l.result[s.name] = res
				}
				res.rate, res.cpu, res.dbc, res.ratioToMD = append(res.rate, r), append(res.cpu, cpu), append(res.dbc, dbc), append(res.ratioToMD, r/mdRate)
				t.Logf("round %d, %s, %s: %.0f deliveries/s, CPU per delivery: server %v, PostgreSQL %v; %.2f transactions per delivery",
					round, l.name, s.name, r, cpu, dbc, xpd)
			}
		}
	}
	for _, l := range loads {
		for _, s := range setups {
			res := l.result[s.name]
			t.Logf("MEDIAN %s, %s: %.0f deliveries/s (%.2f x Maildir), CPU per delivery: server %v + PostgreSQL %v = %v",
				l.name, s.name, median(res.rate), median(res.ratioToMD), median(res.cpu), median(res.dbc), median(res.cpu)+median(res.dbc))
		}
	}
}
