package imapbench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rssMiB reads the resident set size of a process (self for pid 0).
func rssMiB(pid int) float64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMain lets the benchmark binary double as the IDLE client process
// (IDLE_CLIENT=addr,n): the clients live in another process so that the
// server's memory is measured alone and each side stays within the
// file-descriptor limit.
func TestMain(m *testing.M) {
	if spec := os.Getenv("IDLE_CLIENT"); spec != "" {
		addr, ns, _ := strings.Cut(spec, ",")
		n, _ := strconv.Atoi(ns)
		os.Exit(idleClients(addr, n))
	}
	if home := os.Getenv("SORT_SERVER"); home != "" {
		os.Exit(serveSortServer(home))
	}
	os.Exit(m.Run())
}

// idleClients opens n sessions in IDLE, prints READY, waits for GO on
// stdin, then reports how long until each saw a new EXISTS.
func idleClients(addr string, n int) int {
	type idler struct {
		nc net.Conn
		br *bufio.Reader
	}
	idlers := make([]idler, 0, n)
	for i := 0; i < n; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("ERROR connection %d: %v\n", i, err)
			return 1
		}
		br := bufio.NewReaderSize(nc, 512)
		fmt.Fprint(nc, "a LOGIN idle x\r\nb SELECT INBOX\r\nc IDLE\r\n")
		for {
			nc.SetReadDeadline(time.Now().Add(60 * time.Second))
			l, err := br.ReadString('\n')
			if err != nil {
				fmt.Printf("ERROR connection %d: %v\n", i, err)
				return 1
			}
			if strings.HasPrefix(l, "+ ") {
				break
			}
		}
		idlers = append(idlers, idler{nc, br})
	}
	fmt.Println("READY")
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n')
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	var times []time.Duration
	missed := 0
	for _, c := range idlers {
		wg.Add(1)
		go func(c idler) {
			defer wg.Done()
			c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			for {
				l, err := c.br.ReadString('\n')
				if err != nil {
					mu.Lock()
					missed++
					mu.Unlock()
					return
				}
				if strings.HasSuffix(l, " EXISTS\r\n") {
					d := time.Since(start)
					mu.Lock()
					worst = max(worst, d)
					times = append(times, d)
					mu.Unlock()
					return
				}
			}
		}(c)
	}
	wg.Wait()
	slices.Sort(times)
	var first, median time.Duration
	if len(times) > 0 {
		first, median = times[0], times[len(times)/2]
	}
	fmt.Printf("DONE %d %d %d %d\n", worst.Microseconds(), missed, first.Microseconds(), median.Microseconds())
	return 0
}

// BenchmarkIdle10k holds IDLE_CONNS (default 10000) sessions in IDLE on
// one mailbox (clients in a child process), reports the server's
// resident memory and how long until every session has been told of a
// newly appended message.
//
//	go test -run '^$' -bench Idle10k -benchtime 1x ./bench/imap/
func BenchmarkIdle10k(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	home := b.TempDir()
	addr := startYubin(b, home)
	seed(b, addr, "idle", "x", 1)
	base := rssMiB(0)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("IDLE_CLIENT=%s,%d", addr, n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	out := bufio.NewReader(stdout)
	l, err := out.ReadString('\n')
	if err != nil || l != "READY\n" {
		b.Fatalf("client process: %q %v", l, err)
	}
	rss := rssMiB(0)
	b.Logf("%d sessions in IDLE: server process RSS %.0f MiB (%.0f MiB before)", n, rss, base)
	b.ReportMetric(rss, "server-RSS-MiB")
	cpu0 := cpuTime()
	fmt.Fprintln(stdin, "GO")
	seed(b, addr, "idle", "x", 1)
	l, err = out.ReadString('\n')
	cpu := cpuTime() - cpu0
	var us, missed, firstUS, medianUS int
	if _, err2 := fmt.Sscanf(l, "DONE %d %d %d %d", &us, &missed, &firstUS, &medianUS); err != nil || err2 != nil {
		b.Fatalf("client process: %q %v", l, err)
	}
	worst := time.Duration(us) * time.Microsecond
	b.Logf("new message announced to all %d sessions within %v (%d missed; first after %v, half after %v)", n, worst, missed,
		time.Duration(firstUS)*time.Microsecond, time.Duration(medianUS)*time.Microsecond)
	// On a shared machine the wall-clock time depends on who else runs;
	// the CPU the server spent announcing does not.
	b.Logf("server CPU time from the append to the last announcement: %v", cpu.Round(time.Millisecond))
	b.ReportMetric(worst.Seconds(), "announce-s")
	b.ReportMetric(cpu.Seconds(), "announce-cpu-s")
}
