package imapbench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSelect100k measures a warm SELECT of a BIG_MESSAGES (default
// 100000) message Maildir and FETCH 1:* (FLAGS UID RFC822.SIZE) on it.
//
//	go test -run '^$' -bench Select100k -benchtime 1x ./bench/imap/
func BenchmarkSelect100k(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("BIG_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	home := b.TempDir()
	cur := filepath.Join(home, "big", "Maildir", "cur")
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(home, "big", "Maildir", d), 0o700)
	}
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: x@example.org\nSubject: message %d\n\nbody\n", i)
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i/1000, i, len(msg))
		if err := os.WriteFile(filepath.Join(cur, name), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	addr := startYubin(b, home)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	c.br.ReadString('\n')
	if _, err := c.cmd("LOGIN big x"); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		b.Fatal(err)
	}
	b.Logf("first SELECT (UIDs assigned, index built): %v", time.Since(t0))
	c.cmd("UNSELECT")
	b.ResetTimer()
	var sel, fetch time.Duration
	for i := 0; i < b.N; i++ {
		t0 = time.Now()
		lines, err := c.cmd("SELECT INBOX")
		if err != nil {
			b.Fatal(err)
		}
		sel = time.Since(t0)
		if !strings.Contains(strings.Join(lines, ""), fmt.Sprintf("* %d EXISTS", n)) {
			b.Fatalf("SELECT: %q", lines)
		}
		t0 = time.Now()
		lines, err = c.cmd("FETCH 1:* (FLAGS UID RFC822.SIZE)")
		if err != nil {
			b.Fatal(err)
		}
		fetch = time.Since(t0)
		if len(lines) != n+1 {
			b.Fatalf("FETCH returned %d lines", len(lines))
		}
		c.cmd("UNSELECT")
	}
	b.Logf("%d messages: warm SELECT %v, FETCH 1:* (FLAGS UID RFC822.SIZE) %v", n, sel, fetch)
	b.ReportMetric(sel.Seconds()*1000, "select-ms")
	b.ReportMetric(fetch.Seconds()*1000, "fetch-ms")
}
