package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMaillogHandlerFormat checks the maillog line: time, host,
// program/service[pid], level word, message, then the attributes, quoted
// when they hold spaces, quotes or '=' or are empty.
func TestMaillogHandlerFormat(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "", "mx.example.jp", "yubin")
	log.With("service", "smtp").Info("connect from unknown[127.0.0.1]")
	log.Warn("queue spool: odd", "service", "qmgr", "queue_id", "ABC", "err", `a "b" c`, "empty", "")
	log.With("k", "v").WithGroup("g").Error("boom", "x", 1)
	log.Info("warning: already said", "service", "imaps")
	pid := strconv.Itoa(os.Getpid())
	want := []string{
		" mx.example.jp yubin/smtpd[" + pid + "]: connect from unknown[127.0.0.1]",
		" mx.example.jp yubin/qmgr[" + pid + "]: warning: queue spool: odd, queue_id=ABC, err=\"a \\\"b\\\" c\", empty=\"\"",
		" mx.example.jp yubin[" + pid + "]: error: boom, g.k=v, g.x=1",
		" mx.example.jp yubin/imap[" + pid + "]: warning: already said",
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		stamp := l[:len(time.Stamp)]
		if _, err := time.Parse(time.Stamp, stamp); err != nil {
			t.Errorf("line %d: no time stamp: %q", i, l)
		}
		if got := l[len(time.Stamp):]; got != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, want[i])
		}
	}
}
