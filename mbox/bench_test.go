package mbox

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// writeBigMbox writes an mbox file of about size bytes as Dovecot would
// have it: X-IMAPbase, X-UID on every message, messages of msgSize bytes;
// every deletedEvery-th message carries X-Status: D (0: none).
func writeBigMbox(tb testing.TB, path string, size, msgSize int64, deletedEvery int) int {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?", 1) + "\n"
	var written int64
	n := 0
	total := int(size / msgSize)
	for written < size {
		n++
		var hdr strings.Builder
		fmt.Fprintf(&hdr, "From sender@example.org  Mon Jan 01 12:00:00 2024\nFrom: sender@example.org\nSubject: message %d\nMessage-ID: <%d@example.org>\n", n, n)
		if n == 1 {
			fmt.Fprintf(&hdr, "X-IMAPbase: 1700000000 %010d\n", total+1)
		}
		fmt.Fprintf(&hdr, "X-UID: %d\nStatus: RO\nX-Keywords:%s\n", n, strings.Repeat(" ", 50))
		bodyLines := int(msgSize-int64(hdr.Len())-60) / len(line)
		body := strings.Repeat(line, max(bodyLines, 1))
		fmt.Fprintf(&hdr, "Content-Length: %d\n", len(body))
		if deletedEvery > 0 && n%deletedEvery == 0 {
			hdr.WriteString("X-Status: D\n")
		}
		hdr.WriteString("\n")
		w.WriteString(hdr.String())
		w.WriteString(body)
		w.WriteString("\n")
		written += int64(hdr.Len() + len(body) + 1)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	// On disk before any timing: an fsync must not flush the setup.
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return n
}

// BenchmarkAppendBySize: one fsynced append into an INBOX of 1 MiB and of
// 1 GiB. The time per append must not depend on the mailbox size (the
// file is appended to, never rewritten).
func BenchmarkAppendBySize(b *testing.B) {
	for _, size := range []int64{1 << 20, 1 << 30} {
		for _, sync := range []bool{true, false} {
			name := fmt.Sprintf("%dMiB/fsync=%v", size>>20, sync)
			b.Run(name, func(b *testing.B) {
				dir := b.TempDir()
				inbox := filepath.Join(dir, "inbox")
				writeBigMbox(b, inbox, size, 8<<10, 0)
				s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: inbox, NoSync: !sync})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				c := context.Background()
				mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer mb.Close()
				msg := "From: a@example.org\r\nSubject: bench\r\n\r\n" + strings.Repeat("body line of a benchmark message\r\n", 100)
				b.SetBytes(int64(len(msg)))
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if _, err := mb.Append(c, strings.NewReader(msg), store.AppendOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// BenchmarkExpunge1PercentOf1GiB: expunge the 1% of the messages of a
// 1 GiB INBOX that carry \Deleted, in a child process whose peak
// resident memory (VmHWM) is reported as peak-RSS-MiB, with the time to
// open (parse) the mailbox and to expunge (rewrite) it.
func BenchmarkExpunge1PercentOf1GiB(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	n := writeBigMbox(b, src, 1<<30, 8<<10, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		inbox := filepath.Join(dir, "inbox")
		if out, err := exec.Command("cp", src, inbox).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		os.RemoveAll(filepath.Join(dir, "mail"))
		b.StartTimer()
		cmd := exec.Command(os.Args[0], "-test.run=^TestExpungeHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "YUBIN_MBOX_EXPUNGE_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("helper: %v\n%s", err, out)
		}
		var rss, removed int
		var open, expunge time.Duration
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(strings.TrimSpace(l)); len(f) == 5 && f[0] == "RESULT" {
				rss, _ = strconv.Atoi(f[1])
				removed, _ = strconv.Atoi(f[2])
				open, _ = time.ParseDuration(f[3])
				expunge, _ = time.ParseDuration(f[4])
			}
		}
		if removed != n/100 {
			b.Fatalf("expunged %d of %d messages, want %d\n%s", removed, n, n/100, out)
		}
		b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
		b.ReportMetric(open.Seconds(), "open-s")
		b.ReportMetric(expunge.Seconds(), "expunge-s")
		b.ReportMetric(float64(n), "messages")
	}
}

// TestExpungeHelper is BenchmarkExpunge1PercentOf1GiB's child process.
func TestExpungeHelper(t *testing.T) {
	dir := os.Getenv("YUBIN_MBOX_EXPUNGE_DIR")
	if dir == "" {
		t.Skip("run by BenchmarkExpunge1PercentOf1GiB")
	}
	c := context.Background()
	start := time.Now()
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: filepath.Join(dir, "inbox")})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	removed, err := mb.Expunge(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	status, _ := os.ReadFile("/proc/self/status")
	hwm := 0
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	fmt.Printf("RESULT %d %d %s %s\n", hwm, len(removed), opened.Sub(start), done.Sub(opened))
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
