package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// procCPU returns the user+system CPU time of process pid (from
// /proc/PID/stat, clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// lmtpLoad delivers n messages to bob over each instance's LMTP socket
// with workers persistent sessions per instance, and returns the
// deliveries per second and the servers' CPU time per delivery.
func lmtpLoad(t *testing.T, ins []*instance, workers, n int, rcpts ...string) (float64, time.Duration) {
	if len(rcpts) == 0 {
		rcpts = []string{"bob"}
	}
	var cpu0 time.Duration
	for _, in := range ins {
		cpu0 += procCPU(in.cmd.Process.Pid)
	}
	var left atomic.Int64
	left.Store(int64(n))
	body := "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: load\r\n\r\n" + strings.Repeat("load test body line\r\n", 200)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers*len(ins))
	for _, in := range ins {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(in *instance) {
				defer wg.Done()
				c, err := net.Dial("unix", filepath.Join(in.data, "lmtp.sock"))
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				r := bufio.NewReader(c)
				read := func() string {
					for {
						c.SetReadDeadline(time.Now().Add(60 * time.Second))
						l, err := r.ReadString('\n')
						if err != nil {
							return "err " + err.Error()
						}
						if len(l) < 4 || l[3] != '-' {
							return l
						}
					}
				}
				read()
				fmt.Fprintf(c, "LHLO load\r\n")
				read()
				for {
					k := left.Add(-1)
					if k < 0 {
						break
					}
					fmt.Fprintf(c, "MAIL FROM:<alice@localhost>\r\nRCPT TO:<%s@localhost>\r\nDATA\r\n", rcpts[int(k)%len(rcpts)])
					read()
					read()
					read()
					fmt.Fprintf(c, "%s.\r\n", body)
					if l := read(); !strings.HasPrefix(l, "250") {
						errs <- fmt.Errorf("delivery: %s", l)
						return
					}
				}
			}(in)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wall := time.Since(start)
	var cpu time.Duration
	for _, in := range ins {
		cpu += procCPU(in.cmd.Process.Pid)
	}
	return float64(n) / wall.Seconds(), (cpu - cpu0) / time.Duration(n)
}

// TestPgsqlDeliveryRate measures LMTP deliveries/s into pgstore through
// one and three fullservers and into Maildir through one, in the same
// run. It is a measurement, not a check: it runs only with
// YUBIN_PGSTORE_BENCH=1 (messages per round: YUBIN_PGSTORE_BENCH_N,
// default 2000).
func TestPgsqlDeliveryRate(t *testing.T) {
	if os.Getenv("YUBIN_PGSTORE_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_PGSTORE_BENCH=1")
	}
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("YUBIN_PGSTORE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	md := newInstance(t, "")
	users := []string{"bob", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	md.addUsers(users...)
	md.start()
	// Unlike the tests' cluster, this one syncs, as a real database does
	// (ALTER SYSTEM cannot turn fsync on: the command line outranks it).
	c, err := testutil.StartPGClusterDurable()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	db := c.NewDatabase(t)
	var pg []*instance
	for i := 0; i < 3; i++ {
		in := newInstance(t, "mail_location = pgsql:"+c.ConnString(db)+"\n")
		in.addUsers(users...)
		in.start()
		pg = append(pg, in)
	}
	pgLoad := func(ins []*instance, workers int, rcpts ...string) (float64, time.Duration, time.Duration) {
		db0 := c.CPUTime()
		r, cpu := lmtpLoad(t, ins, workers, n, rcpts...)
		return r, cpu, (c.CPUTime() - db0) / time.Duration(n)
	}
	lmtpLoad(t, pg[:1], 2, 50) // warm up: user rows, pools
	lmtpLoad(t, []*instance{md}, 2, 50)
	for round := 0; round < 2; round++ {
		r, cpu := lmtpLoad(t, []*instance{md}, 12, n)
		t.Logf("Maildir, 1 server, 12 sessions: %.0f deliveries/s, server CPU %v per delivery", r, cpu)
		r, cpu, dbc := pgLoad(pg[:1], 12)
		t.Logf("pgstore, 1 server, 12 sessions: %.0f deliveries/s, server CPU %v + PostgreSQL CPU %v per delivery", r, cpu, dbc)
		r, cpu, dbc = pgLoad(pg, 4)
		t.Logf("pgstore, 3 servers, 4 sessions each: %.0f deliveries/s, servers' CPU %v + PostgreSQL CPU %v per delivery", r, cpu, dbc)
		r, cpu = lmtpLoad(t, []*instance{md}, 12, n, users...)
		t.Logf("10 users: Maildir, 1 server, 12 sessions: %.0f deliveries/s, server CPU %v per delivery", r, cpu)
		r, cpu, dbc = pgLoad(pg[:1], 12, users...)
		t.Logf("10 users: pgstore, 1 server, 12 sessions: %.0f deliveries/s, server CPU %v + PostgreSQL CPU %v per delivery", r, cpu, dbc)
		r, cpu, dbc = pgLoad(pg, 4, users...)
		t.Logf("10 users: pgstore, 3 servers, 4 sessions each: %.0f deliveries/s, servers' CPU %v + PostgreSQL CPU %v per delivery", r, cpu, dbc)
	}
}

// TestPgsqlLargeMailbox measures IMAP SELECT and UID FETCH 1:* (FLAGS)
// of a 100,000-message INBOX through a fullserver on pgstore, with the
// server's and PostgreSQL's CPU time. The rows are copied in SQL from
// one delivered message. A measurement: YUBIN_PGSTORE_BENCH=1.
func TestPgsqlLargeMailbox(t *testing.T) {
	if os.Getenv("YUBIN_PGSTORE_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_PGSTORE_BENCH=1")
	}
	c, err := testutil.StartPGCluster()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	db := c.NewDatabase(t)
	in := newInstance(t, "mail_location = pgsql:"+c.ConnString(db)+"\n")
	in.addUsers("bob")
	in.start()
	if r := lmtpDeliver(t, in, "bob@localhost", "Date: Mon, 7 Dec 2026 10:00:00 +0000\nSubject: seed\n\nx\n"); !strings.HasPrefix(r, "250") {
		t.Fatal(r)
	}
	const n = 100000
	sql := fmt.Sprintf(`INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
		SELECT m.mailbox_id, m.uid + g, m.modseq, g %% 3, '{}', m.internal_date + g * interval '1 second', m.save_date, m.size, md5(g::text), m.blob_key
		FROM pgstore_messages m, generate_series(1, %d) g;
		UPDATE pgstore_mailboxes b SET uidnext = uidnext + %d, messages = messages + %d FROM pgstore_users u WHERE b.user_id = u.id AND b.name = 'INBOX';
		ANALYZE;`, n-1, n-1, n-1)
	if out, err := c.Exec(db, sql); err != nil {
		t.Fatal(err, out)
	}
	for round := 0; round < 3; round++ {
		ic := dialIMAP(t, in)
		cpu0, db0 := procCPU(in.cmd.Process.Pid), c.CPUTime()
		start := time.Now()
		sel := ic.cmd("SELECT INBOX")
		selected := time.Since(start)
		fetched := ic.cmd("UID FETCH 1:* (FLAGS)")
		all := time.Since(start)
		if len(fetched) != n || !strings.Contains(strings.Join(sel, " "), fmt.Sprintf("%d EXISTS", n)) {
			t.Fatalf("%d FETCH lines, SELECT %q", len(fetched), sel)
		}
		t.Logf("IMAP SELECT of %d messages %v, + UID FETCH 1:* (FLAGS) %v wall; server CPU %v, PostgreSQL CPU %v",
			n, selected, all, procCPU(in.cmd.Process.Pid)-cpu0, c.CPUTime()-db0)
		if round == 2 {
			start = time.Now()
			ic.cmd("SORT (ARRIVAL) UTF-8 ALL")
			t.Logf("SORT (ARRIVAL) %v", time.Since(start))
			for i := 0; i < 2; i++ {
				start = time.Now()
				cpu0, db0 := procCPU(in.cmd.Process.Pid), c.CPUTime()
				ic.cmd("SORT (DATE) UTF-8 ALL")
				t.Logf("SORT (DATE) %v wall, server CPU %v, PostgreSQL CPU %v (run %d: the first takes the keys pgstore derived at append)",
					time.Since(start), procCPU(in.cmd.Process.Pid)-cpu0, c.CPUTime()-db0, i+1)
			}
		}
	}
}
