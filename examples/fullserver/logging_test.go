package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	log.Info("connect from unknown[127.0.0.1]", "service", "smtp", "syslog_name", "yubin", "client", "127.0.0.1")
	daemonLogger(log).Info("ABC: to=<b@example.net>, status=deferred (x)", "service", "smtp")
	daemonLogger(log).With("service", "qmgr").Info("ABC: removed")
	pid := strconv.Itoa(os.Getpid())
	want := []string{
		" mx.example.jp yubin/smtpd[" + pid + "]: connect from unknown[127.0.0.1]",
		" mx.example.jp yubin/qmgr[" + pid + "]: warning: queue spool: odd, queue_id=ABC, err=\"a \\\"b\\\" c\", empty=\"\"",
		" mx.example.jp yubin[" + pid + "]: error: boom, g.k=v, g.x=1",
		" mx.example.jp yubin/imap[" + pid + "]: warning: already said",
		" mx.example.jp yubin/smtpd[" + pid + "]: connect from unknown[127.0.0.1]",
		" mx.example.jp yubin/smtp[" + pid + "]: ABC: to=<b@example.net>, status=deferred (x)",
		" mx.example.jp yubin/qmgr[" + pid + "]: ABC: removed",
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

// TestSyslogWriterSendsMaillogLines: with log_format = syslog the
// handler sends each line as one datagram to the syslog socket (a
// private one here), "<PRI>Mmm dd hh:mm:ss program[pid]: message" with
// the mail facility's priority for the level and no host.
func TestSyslogWriterSendsMaillogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	w, err := newSyslogWriter(path, "mail")
	require.NoError(t, err)
	defer w.Close()
	// As serve() wires it: through the reopenable log writer.
	var rs reloadState
	log := newLogger(rs.setLog(w, w), "syslog", "mx.example.jp", "yubin")
	log.Info("ABC: client=unknown[127.0.0.1]", "service", "smtp", "syslog_name", "yubin", "client", "127.0.0.1")
	log.Error("boom", "service", "qmgr")
	pid := strconv.Itoa(os.Getpid())
	buf := make([]byte, 4096)
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []struct{ pri, rest string }{
		{"<22>", " yubin/smtpd[" + pid + "]: ABC: client=unknown[127.0.0.1]"},
		{"<19>", " yubin/qmgr[" + pid + "]: error: boom"},
	} {
		n, err := l.Read(buf)
		require.NoError(t, err)
		got := string(buf[:n])
		require.True(t, strings.HasPrefix(got, want.pri), "datagram %q", got)
		got = got[len(want.pri):]
		_, err = time.Parse(time.Stamp, got[:len(time.Stamp)])
		assert.NoError(t, err, "time stamp of %q", got)
		assert.Equal(t, want.rest, got[len(time.Stamp):])
	}
	_, err = newSyslogWriter(path, "nosuch")
	assert.Error(t, err)
}
