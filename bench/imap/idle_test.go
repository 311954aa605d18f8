package imapbench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rssMiB reads the process's resident set size.
func rssMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkIdle10k holds IDLE_CONNS (default 10000) sessions in IDLE on
// one mailbox, reports the resident memory of the process (server and
// clients together, so an upper bound for the server) and how long it
// takes until every session has seen a newly appended message.
//
//	go test -run '^$' -bench Idle10k -benchtime 1x ./bench/imap/
func BenchmarkIdle10k(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	lim := syscall.Rlimit{Cur: uint64(3*n + 1000), Max: uint64(3*n + 1000)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("raising the file limit: %v", err)
	}
	home := b.TempDir()
	addr := startYubin(b, home)
	seed(b, addr, "idle", 1)
	runtime.GC()
	base := rssMiB()
	type idler struct {
		nc net.Conn
		br *bufio.Reader
	}
	idlers := make([]idler, 0, n)
	defer func() {
		for _, c := range idlers {
			c.nc.Close()
		}
	}()
	for i := 0; i < n; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		br := bufio.NewReaderSize(nc, 512)
		fmt.Fprint(nc, "a LOGIN idle x\r\nb SELECT INBOX\r\nc IDLE\r\n")
		for {
			nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			l, err := br.ReadString('\n')
			if err != nil {
				b.Fatalf("connection %d: %v", i, err)
			}
			if strings.HasPrefix(l, "+ ") {
				break
			}
		}
		idlers = append(idlers, idler{nc, br})
	}
	runtime.GC()
	rss := rssMiB()
	b.Logf("%d sessions in IDLE: RSS %.0f MiB (%.0f MiB before; clients included)", n, rss, base)
	b.ReportMetric(rss, "RSS-MiB")

	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	var missed int
	start := time.Now()
	for _, c := range idlers {
		wg.Add(1)
		go func(c idler) {
			defer wg.Done()
			c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
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
					mu.Unlock()
					return
				}
			}
		}(c)
	}
	seed(b, addr, "idle", 1)
	wg.Wait()
	b.Logf("new message announced to all %d sessions within %v (%d missed)", n, worst, missed)
	b.ReportMetric(worst.Seconds(), "announce-s")
	_ = context.Background
}
