package queuebench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The parsers of what smtp-sink, strace and /proc print, and the relay
// probe; the benchmarks themselves run only under -bench.

func TestLastMesg(t *testing.T) {
	n, ok := lastMesg("sess=49 quit=49 mesg=49\rsess=50 quit=50 mesg=50\r")
	if !ok || n != 50 {
		t.Errorf("lastMesg = %d, %v; want 50, true", n, ok)
	}
	if _, ok := lastMesg("sess=1 quit=1"); ok {
		t.Error("lastMesg found a counter in a line without mesg=")
	}
}

func TestParseStraceSummary(t *testing.T) {
	const out = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 99.00    0.219172         566       387           fsync
  1.00    0.000100          10        10         2 fdatasync
------ ----------- ----------- --------- --------- ----------------
100.00    0.219272         551       397         2 total
`
	got := parseStraceSummary(out)
	want := map[string]int{"fsync": 387, "fdatasync": 10}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseStraceSummary = %v, want %v", got, want)
	}
	if sumCounts(got) != 397 {
		t.Errorf("sumCounts = %d, want 397", sumCounts(got))
	}
	if got := parseStraceSummary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"); got != nil {
		t.Errorf("parseStraceSummary(error) = %v, want nil", got)
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as smtpd's is not but
	// others' may be.
	line := "1234 (a (b) c) S 42 1234 1234 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 100 0 0"
	s, ok := parseStat([]byte(line))
	if !ok {
		t.Fatal("parseStat failed")
	}
	want := procStat{ppid: 42, self: 200 * clockTick, children: 10 * clockTick}
	if s != want {
		t.Errorf("parseStat = %+v, want %+v", s, want)
	}
	if _, ok := parseStat([]byte("1234 (x) S 1")); ok {
		t.Error("parseStat accepted a truncated line")
	}
}

// TestSmtpSinkProbeRelay: probeRelay takes the sink's 250s as "relays",
// and a server that refuses at RCPT as not relaying, with its reply; the
// sink counts only messages, not probes.
func TestSmtpSinkProbeRelay(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "smtp-sink is started with -u postfix, which needs root")
	}
	s := startSink(t)
	if err := probeRelay(fmt.Sprintf("127.0.0.1:%d", s.port), "u0@relay.example"); err != nil {
		t.Errorf("probeRelay(smtp-sink) = %v, want nil", err)
	}
	if n := s.received(); n != 0 {
		t.Errorf("the sink counted %d messages after a probe, want 0", n)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		fmt.Fprint(c, "220 mx ESMTP\r\n")
		for _, reply := range []string{"250 mx\r\n", "250 2.1.0 Ok\r\n", "451 4.3.2 no outbound queue\r\n"} {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			fmt.Fprint(c, reply)
		}
	}()
	err = probeRelay(l.Addr().String(), "u0@relay.example")
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("probeRelay(refusing server) = %v, want the 451", err)
	}
}
