package queuebench

import (
	"reflect"
	"testing"
)

// The parsers of what smtp-sink, strace and /proc print; the benchmarks
// themselves run only under -bench.

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
