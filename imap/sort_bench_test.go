package imap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkDovecotSortThread100k times SORT and THREAD on one large
// Maildir INBOX (100,000 messages; YUBIN_SORT_BENCH_N changes it) in
// yubin and in Dovecot 2.3's imap, each on its own copy, after both
// have answered each command once (Dovecot then has the sort data in
// its index, yubin in its sort cache). Besides ns/op (wall time seen by
// the client) it reports server-cpu-ns/op: the imap process's CPU time
// for Dovecot, the test process's for yubin (client reading included).
//
//	go test -run XXX -bench DovecotSortThread100k -benchtime 5x ./imap
func BenchmarkDovecotSortThread100k(b *testing.B) {
	testutil.RequireBinary(b, "imap")
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("YUBIN_SORT_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	type server struct {
		name string
		s    *benchSession
	}
	var servers []server
	// YUBIN_SORT_BENCH_ONLY=yubin leaves Dovecot out (for profiling).
	if os.Getenv("YUBIN_SORT_BENCH_ONLY") != "yubin" {
		dvRoot := testutil.SharedDir(b)
		dvHome := filepath.Join(dvRoot, "alice")
		writeBenchMaildir(b, filepath.Join(dvHome, "Maildir"), n)
		testutil.ChownTree(b, dvHome, testutil.PlainUID, testutil.PlainGID)
		servers = append(servers, server{"dovecot", startBenchDovecot(b, dovecotIMAPConf(b, dvRoot), dvHome)})
	}
	yRoot := b.TempDir()
	writeBenchMaildir(b, filepath.Join(yRoot, "alice", "Maildir"), n)
	env := newTestEnvAt(b, yRoot, nil)
	yc := env.dial(b)
	yc.nc.SetReadDeadline(time.Time{})
	yb := &benchSession{w: yc.nc, r: bufio.NewReaderSize(yc.nc, 1<<20), cpu: selfCPU}
	yb.do(b, "LOGIN alice secret")
	servers = append(servers, server{"yubin", yb})

	cmds := []string{"SORT (DATE) UTF-8 ALL", "SORT (REVERSE ARRIVAL) UTF-8 ALL", "SORT (SUBJECT) UTF-8 ALL", "SORT (FROM DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL"}
	for _, s := range servers {
		start := time.Now()
		s.s.do(b, "SELECT INBOX")
		b.Logf("%s: SELECT of %d messages took %v", s.name, n, time.Since(start))
		for _, c := range cmds {
			start := time.Now()
			if l := s.s.do(b, c); len(l) < n {
				b.Fatalf("%s: %s: short answer (%d bytes)", s.name, c, len(l))
			}
			b.Logf("%s: first %s took %v", s.name, c, time.Since(start))
		}
	}
	for _, c := range cmds {
		for _, s := range servers {
			b.Run(strings.ReplaceAll(c, " ", "_")+"/"+s.name, func(b *testing.B) {
				cpu0 := s.s.cpu()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.s.do(b, c)
				}
				b.StopTimer()
				b.ReportMetric(float64(s.s.cpu()-cpu0)/float64(b.N), "server-cpu-ns/op")
			})
		}
	}
}

// benchSession is a bare IMAP session without per-line time limits (a
// first SELECT of a large Maildir takes long).
type benchSession struct {
	w   io.Writer
	r   *bufio.Reader
	n   int
	cpu func() time.Duration
}

// do sends cmd and returns its untagged data, failing unless the tagged
// answer is OK.
func (s *benchSession) do(b *testing.B, cmd string) string {
	b.Helper()
	s.n++
	tag := "b" + strconv.Itoa(s.n)
	if _, err := io.WriteString(s.w, tag+" "+cmd+"\r\n"); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			b.Fatalf("%s: %v", cmd, err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				b.Fatalf("%s: %s", cmd, l)
			}
			return sb.String()
		}
		sb.WriteString(l)
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the CPU time of process pid (user + system).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

// startBenchDovecot starts a pre-authenticated Dovecot imap for alice.
func startBenchDovecot(b *testing.B, conf, home string) *benchSession {
	cmd := exec.Command(testutil.RequireBinary(b, "imap"), "-c", conf)
	cmd.Env = []string{"USER=alice", "HOME=" + home, "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.PlainUID, Gid: testutil.PlainGID}}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	s := &benchSession{w: in, r: bufio.NewReaderSize(out, 1<<20)}
	pid := cmd.Process.Pid
	s.cpu = func() time.Duration { return procCPU(pid) }
	if g, err := s.r.ReadString('\n'); err != nil || !strings.HasPrefix(g, "* PREAUTH") {
		b.Fatalf("dovecot greeting %q %v", g, err)
	}
	return s
}

// writeBenchMaildir writes n messages straight into dir's cur/: threads
// of replies, recurring subjects with reply prefixes, senders and dates
// spread over four years, as a large archive folder has them.
func writeBenchMaildir(b *testing.B, dir string, n int) {
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
