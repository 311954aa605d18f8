package imapbench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// sortCommands are the SORT and THREAD commands the comparison times.
var sortCommands = []string{
	"SORT (DATE) UTF-8 ALL",
	"SORT (REVERSE ARRIVAL) UTF-8 ALL",
	"SORT (SUBJECT) UTF-8 ALL",
	"SORT (FROM DATE) UTF-8 ALL",
	"THREAD REFERENCES UTF-8 ALL",
	"THREAD ORDEREDSUBJECT UTF-8 ALL",
}

// BenchmarkSortThreadVsDovecot times SORT and THREAD on one large
// Maildir INBOX (SORT_MESSAGES, default 100000) in yubin and in a
// private Dovecot 2.3, each a separate server process on its own copy of
// the same corpus, after both have answered every command twice
// (Dovecot then has the sort data in its index, yubin in its cache).
// Each command then runs SORT_ROUNDS times (default 7) on each server in
// turn; the figure is the server process's CPU time per command, read
// from /proc before and after (yubin: its child server process;
// Dovecot: the imap process serving the session), and the median over
// the rounds. It logs Dovecot/yubin for each command: the issue's
// target is at least 5.
//
//	go test -run '^$' -bench SortThreadVsDovecot -benchtime 1x ./bench/imap/
func BenchmarkSortThreadVsDovecot(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("SORT_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	rounds := 7
	if v, err := strconv.Atoi(os.Getenv("SORT_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	d, dovecotAddr := startDovecot(b)
	dvHome := filepath.Join(d.Dir, "home")
	writeSortCorpus(b, filepath.Join(dvHome, "sort", "Maildir"), n)
	testutil.ChownTree(b, filepath.Join(dvHome, "sort"), testutil.PlainUID, testutil.PlainGID)
	yHome := b.TempDir()
	writeSortCorpus(b, filepath.Join(yHome, "sort", "Maildir"), n)
	yubinAddr, yubinPID := startYubinProcess(b, yHome)

	type server struct {
		name string
		c    *conn
		pid  int
	}
	servers := []*server{{name: "dovecot"}, {name: "yubin", pid: yubinPID}}
	for _, s := range servers {
		addr := dovecotAddr
		if s.name == "yubin" {
			addr = yubinAddr
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		s.c = &conn{nc: nc, br: bufio.NewReaderSize(nc, 1<<20), timeout: 10 * time.Minute}
		s.c.br.ReadString('\n')
		if _, err := s.c.cmd("LOGIN sort x"); err != nil {
			b.Fatal(err)
		}
		if s.name == "dovecot" {
			s.pid = dovecotIMAPProcess(b, d)
		}
		t0 := time.Now()
		if _, err := s.c.cmd("SELECT INBOX"); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: first SELECT of %d messages: %v", s.name, n, time.Since(t0))
	}
	// Warm-up: each command twice on each server; the answers of both
	// servers must agree.
	for _, cmd := range sortCommands {
		var answers []string
		for _, s := range servers {
			for i := 0; i < 2; i++ {
				t0 := time.Now()
				lines, err := s.c.cmd(cmd)
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					b.Logf("%s: first %s: %v", s.name, cmd, time.Since(t0))
					answers = append(answers, strings.Join(lines[:len(lines)-1], ""))
				}
			}
		}
		if len(answers[0]) < n || answers[0] != answers[1] {
			b.Errorf("%s: the answers differ (dovecot %d bytes, yubin %d bytes)", cmd, len(answers[0]), len(answers[1]))
		}
	}
	b.ResetTimer()
	// Two phases: the mailbox unchanged between commands, and one new
	// message appended (not timed) before each command, which both
	// servers must fold into their kept sort data.
	med := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	newMsg := 0
	for _, phase := range []string{"unchanged", "after APPEND"} {
		cpu := map[string][]time.Duration{}
		for r := 0; r < b.N*rounds; r++ {
			for _, cmd := range sortCommands {
				// The same message goes to both servers, whose answers
				// must then still agree.
				newMsg++
				m := fmt.Sprintf("From: new%d@example.org\r\nSubject: Re: topic %d\r\nDate: Mon, 1 Jan 2024 10:%02d:00 +0000\r\nMessage-ID: <new%d@bench>\r\nReferences: <m%d@bench>\r\n\r\nnew\r\n", newMsg, newMsg%5000, newMsg%60, newMsg, newMsg*7%n)
				var answers []string
				for _, s := range servers {
					if phase != "unchanged" {
						// An explicit internal date, the same on both
						// servers: ARRIVAL ties would otherwise depend
						// on when each server got the message. It is
						// in the past (after the corpus): both servers
						// replace a date over two hours ahead by now.
						date := time.Date(2024, 1, 1, 0, 0, newMsg, 0, time.UTC).Format("02-Jan-2006 15:04:05 -0700")
						if _, err := s.c.cmd(fmt.Sprintf("APPEND INBOX \"%s\" {%d+}\r\n%s", date, len(m), m)); err != nil {
							b.Fatal(err)
						}
						s.c.cmd("NOOP")
					}
					c0 := pidCPU(s.pid)
					lines, err := s.c.cmd(cmd)
					if err != nil {
						b.Fatal(err)
					}
					k := s.name + "\x00" + cmd
					cpu[k] = append(cpu[k], pidCPU(s.pid)-c0)
					answers = append(answers, strings.Join(lines[:len(lines)-1], ""))
				}
				if answers[0] != answers[1] {
					b.Errorf("%s %s round %d: the answers differ (dovecot %d bytes, yubin %d bytes)", phase, cmd, r, len(answers[0]), len(answers[1]))
				}
			}
		}
		for _, cmd := range sortCommands {
			dv, yb := med(cpu["dovecot\x00"+cmd]), med(cpu["yubin\x00"+cmd])
			ratio := float64(dv) / float64(max(yb, time.Millisecond/10))
			b.Logf("%-12s %-32s server CPU per command, median of %d: dovecot %6.1f ms, yubin %6.1f ms, dovecot/yubin %.1f×",
				phase, cmd, len(cpu["yubin\x00"+cmd]), dv.Seconds()*1000, yb.Seconds()*1000, ratio)
			f := strings.Fields(strings.NewReplacer("(", "", ")", "").Replace(cmd))
			name := strings.ToLower(f[0] + "-" + f[1])
			if f[1] == "REVERSE" || f[1] == "FROM" {
				name += "-" + strings.ToLower(f[2])
			}
			if phase != "unchanged" {
				name += "-changed"
			}
			b.ReportMetric(ratio, name+"-ratio")
		}
	}
	b.StopTimer()
}

// pidCPU is the CPU time of process pid: the sum of its threads' run
// time from /proc/pid/task/*/schedstat (nanoseconds; /proc/pid/stat
// counts in ticks of 10 ms, too coarse for one command).
func pidCPU(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, _ := os.ReadDir(dir)
	var sum time.Duration
	for _, e := range ents {
		data, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(data))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// dovecotIMAPProcess finds the imap process of the private Dovecot d
// serving the one logged-in session: a child of d's master process
// named imap.
func dovecotIMAPProcess(b *testing.B, d *testutil.Dovecot) int {
	data, err := os.ReadFile(filepath.Join(d.Dir, "run", "master.pid"))
	if err != nil {
		b.Fatal(err)
	}
	master, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	pid := testutil.WaitChild(master, 5*time.Second, func(p testutil.Proc) bool { return p.Comm == "imap" })
	if pid == 0 {
		b.Fatal("no imap process under Dovecot's master")
	}
	return pid
}

// startYubinProcess runs a yubin IMAP server over the Maildirs under
// home in a child process (this test binary with SORT_SERVER=home) and
// returns its address and PID; the child ends when its stdin closes.
func startYubinProcess(b *testing.B, home string) (string, int) {
	addr, pid, _ := startYubinProcessStop(b, home)
	return addr, pid
}

// startYubinProcessStop is startYubinProcess that also returns a
// function ending the process (waiting for it).
func startYubinProcessStop(b *testing.B, home string) (string, int, func()) {
	return testutil.StartTestChild(b, "SORT_SERVER="+home)
}

// BenchmarkSortDateAfterRestart times the first SORT (DATE) of a large
// Maildir INBOX (SORT_MESSAGES, default 100000) in a yubin server
// process that has never sorted it (every message's header read), and
// then in a new server process after a restart (the keys read from
// yubin-msgdata): wall time and the server process's CPU time.
//
//	go test -run '^$' -bench SortDateAfterRestart -benchtime 1x ./bench/imap/
func BenchmarkSortDateAfterRestart(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("SORT_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	home := b.TempDir()
	writeSortCorpus(b, filepath.Join(home, "sort", "Maildir"), n)
	var first string
	for run, what := range []string{"never sorted", "after a restart"} {
		addr, pid, stop := startYubinProcessStop(b, home)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 1<<20), timeout: 10 * time.Minute}
		c.br.ReadString('\n')
		if _, err := c.cmd("LOGIN sort x"); err != nil {
			b.Fatal(err)
		}
		if _, err := c.cmd("SELECT INBOX"); err != nil {
			b.Fatal(err)
		}
		cpu0, t0 := pidCPU(pid), time.Now()
		lines, err := c.cmd("SORT (DATE) UTF-8 ALL")
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu := time.Since(t0), pidCPU(pid)-cpu0
		b.Logf("first SORT (DATE) of %d messages, %s: %v wall, server CPU %v", n, what, wall, cpu)
		b.ReportMetric(float64(cpu.Milliseconds()), fmt.Sprintf("run%d-server-cpu-ms", run+1))
		if run == 0 {
			first = lines[0]
		} else if lines[0] != first {
			b.Error("the answer after the restart differs")
		}
		nc.Close()
		stop()
	}
}

// serveSortServer is the child process of startYubinProcess.
func serveSortServer(home string) int {
	addr := startYubin(exitTB{}, home)
	fmt.Println("ADDR " + addr)
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// exitTB is the testing.TB of the server child process: it has no test,
// so a failure ends the process.
type exitTB struct{ testing.TB }

func (exitTB) Helper()                   {}
func (exitTB) Cleanup(func())            {}
func (exitTB) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (exitTB) Error(args ...any)         { fmt.Fprintln(os.Stderr, args...) }
func (exitTB) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }

// writeSortCorpus writes n messages straight into dir's cur/: threads
// of replies, recurring subjects with reply prefixes, senders and dates
// spread over four years, as a large archive folder has them.
func writeSortCorpus(b *testing.B, dir string, n int) {
	b.Helper()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.Reset()
		date := base.Add(time.Duration((i*7919)%(4*365*24*60)) * time.Minute)
		fmt.Fprintf(&sb, "From: User %d <user%d@example%d.org>\nTo: list%d@example.org\n", i%997, i%997, i%13, i%7)
		topic := (i * 31) % 5000
		prefix := ""
		if i%3 != 0 {
			prefix = "Re: "
		}
		fmt.Fprintf(&sb, "Subject: %stopic %d\nDate: %s\nMessage-ID: <m%d@bench>\n", prefix, topic, date.Format(time.RFC1123Z), i)
		if i%3 != 0 && i > 0 {
			p := i - 1 - (i*31)%min(i, 50)
			fmt.Fprintf(&sb, "References: <m%d@bench>\n", p)
		}
		fmt.Fprintf(&sb, "\nBody of message %d.\n", i)
		name := fmt.Sprintf("%d.M%dP1.bench:2,S", 1600000000+i, i)
		p := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, mt, mt)
	}
}
