package imapbench

import (
	"bufio"
	"fmt"
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

// BenchmarkSelect100k measures a warm SELECT of a BIG_MESSAGES (default
// 100000) message Maildir and FETCH 1:* (FLAGS UID RFC822.SIZE) on it,
// in yubin and in a private Dovecot 2.3 serving the same Maildir, in
// turns (BIG_ROUNDS, default 3, medians reported).
//
//	go test -run '^$' -bench Select100k -benchtime 1x ./bench/imap/
func BenchmarkSelect100k(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("BIG_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("BIG_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	d, dovecotAddr := startDovecot(b)
	home := filepath.Join(d.Dir, "home")
	md := filepath.Join(home, "big", "Maildir")
	cur := filepath.Join(md, "cur")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: x@example.org\nSubject: message %d\n\nbody\n", i)
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i/1000, i, len(msg))
		if err := os.WriteFile(filepath.Join(cur, name), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	testutil.ChownTree(b, filepath.Join(home, "big"), testutil.PlainUID, testutil.PlainGID)
	yubinAddr := startYubin(b, home)

	servers := []struct {
		name string
		addr string
		c    *conn
	}{{"yubin", yubinAddr, nil}, {"dovecot", dovecotAddr, nil}}
	for i := range servers {
		s := &servers[i]
		nc, err := net.Dial("tcp", s.addr)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		s.c = &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: 5 * time.Minute}
		s.c.br.ReadString('\n')
		if _, err := s.c.cmd("LOGIN big x"); err != nil {
			b.Fatal(err)
		}
		// The first SELECT assigns UIDs (yubin writes dovecot-uidlist,
		// which Dovecot then reads) and builds each server's index.
		t0 := time.Now()
		if _, err := s.c.cmd("SELECT INBOX"); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: first SELECT (UIDs assigned or read, index built): %v", s.name, time.Since(t0))
		s.c.cmd("UNSELECT")
	}
	// Warm both: a first FETCH fills Dovecot's cache file, and each
	// server sees the other's index and uidlist writes once.
	for i := 0; i < 2; i++ {
		for _, s := range servers {
			s.c.cmd("SELECT INBOX")
			s.c.cmd("FETCH 1:* (FLAGS UID RFC822.SIZE)")
			s.c.cmd("UNSELECT")
		}
	}
	b.ResetTimer()
	sel := map[string][]time.Duration{}
	fetch := map[string][]time.Duration{}
	for i := 0; i < b.N*rounds; i++ {
		for _, s := range servers {
			t0 := time.Now()
			lines, err := s.c.cmd("SELECT INBOX")
			if err != nil {
				b.Fatal(err)
			}
			sel[s.name] = append(sel[s.name], time.Since(t0))
			if !strings.Contains(strings.Join(lines, ""), fmt.Sprintf("* %d EXISTS", n)) {
				b.Fatalf("%s SELECT: %q", s.name, lines)
			}
			t0 = time.Now()
			lines, err = s.c.cmd("FETCH 1:* (FLAGS UID RFC822.SIZE)")
			if err != nil {
				b.Fatal(err)
			}
			fetch[s.name] = append(fetch[s.name], time.Since(t0))
			if len(lines) != n+1 {
				b.Fatalf("%s FETCH returned %d lines", s.name, len(lines))
			}
			s.c.cmd("UNSELECT")
		}
	}
	med := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	ys, ds := med(sel["yubin"]), med(sel["dovecot"])
	yf, df := med(fetch["yubin"]), med(fetch["dovecot"])
	b.Logf("%d messages, medians of %d: warm SELECT yubin %v, Dovecot %v (yubin/Dovecot %.2f); FETCH 1:* (FLAGS UID RFC822.SIZE) yubin %v, Dovecot %v (%.2f)",
		n, len(sel["yubin"]), ys, ds, ys.Seconds()/ds.Seconds(), yf, df, yf.Seconds()/df.Seconds())
	b.ReportMetric(ys.Seconds()*1000, "yubin-select-ms")
	b.ReportMetric(ds.Seconds()*1000, "dovecot-select-ms")
	b.ReportMetric(yf.Seconds()*1000, "yubin-fetch-ms")
	b.ReportMetric(df.Seconds()*1000, "dovecot-fetch-ms")
}
