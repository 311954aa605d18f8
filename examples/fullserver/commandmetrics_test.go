package main

import (
	"testing"
	"time"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCommandHookCachesChildren: the hook counts each report under the
// lower-cased command name and its status, the failed series appears
// only once a command failed, and services keep their own counts.
func TestCommandHookCachesChildren(t *testing.T) {
	m := newMetrics()
	pop3, imap := m.commandHook("pop3"), m.commandHook("imap")
	for range 3 {
		pop3("RETR", true, time.Millisecond)
	}
	imap("FETCH", true, time.Millisecond)
	if got := promtest.ToFloat64(m.commands.WithLabelValues("pop3", "retr", "ok")); got != 3 {
		t.Errorf("pop3 retr ok = %v, want 3", got)
	}
	if n := promtest.CollectAndCount(m.commands); n != 2 {
		t.Errorf("%d command series before any failure, want 2 (pop3 retr ok, imap fetch ok)", n)
	}
	pop3("RETR", false, time.Millisecond)
	if got := promtest.ToFloat64(m.commands.WithLabelValues("pop3", "retr", "failed")); got != 1 {
		t.Errorf("pop3 retr failed = %v, want 1", got)
	}
	if got := promtest.ToFloat64(m.commands.WithLabelValues("imap", "fetch", "ok")); got != 1 {
		t.Errorf("imap fetch ok = %v, want 1", got)
	}
	if n := promtest.CollectAndCount(m.commandTime); n != 2 {
		t.Errorf("%d duration series, want 2", n)
	}
}
