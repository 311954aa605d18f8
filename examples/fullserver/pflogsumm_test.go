package main

import (
	"bufio"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/internal/testutil"
)

// pflogSession is one scripted SMTP transaction and what it should add
// to pflogsumm's counts.
type pflogSession struct {
	from    string
	rcpts   []string
	subject string
}

// send runs the transaction on a new connection to addr and returns the
// recipients the server accepted and whether the message was queued.
func (ps pflogSession) send(t *testing.T, addr string) (accepted int, queued bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, "client.example")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Hello("client.example"))
	require.NoError(t, c.Mail(ps.from))
	for _, r := range ps.rcpts {
		if err := c.Rcpt(r); err == nil {
			accepted++
		} else {
			var pe *textproto.Error
			require.True(t, errors.As(err, &pe), "RCPT %s: %v", r, err)
		}
	}
	if accepted == 0 {
		c.Reset()
		c.Quit()
		return 0, false
	}
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write([]byte("From: " + ps.from + "\r\nSubject: " + ps.subject + "\r\n\r\nhello\r\n"))
	require.NoError(t, err)
	err = w.Close()
	c.Quit()
	return accepted, err == nil
}

// TestPflogsummCountsFullserverDay feeds the log of a scripted day (mail
// accepted and delivered locally, relayed to smtp-sink, deferred by an
// smtp-sink answering 4xx, bounced by one answering 5xx, refused at RCPT
// for three reasons, refused by header_checks), written to maillog_file,
// to Debian's pflogsumm and checks its counts against what was sent:
// the log lines are in Postfix's shapes and order, with no client= line
// for a transaction whose recipients were all refused and one reject
// line per reject.
func TestPflogsummCountsFullserverDay(t *testing.T) {
	t.Parallel()
	pflogsumm := testutil.RequireBinary(t, "pflogsumm")
	relay := testutil.StartSmtpSink(t, "127.0.0.1")
	soft := testutil.StartSmtpSink(t, "127.0.0.1", "-r", "RCPT")
	hard := testutil.StartSmtpSink(t, "127.0.0.1", "-f", "RCPT")
	dir := testutil.SharedDir(t)
	checks := filepath.Join(dir, "header_checks")
	require.NoError(t, os.WriteFile(checks, []byte("/^Subject:.*viagra/ REJECT spam is not welcome\n"), 0o644))
	maillog := filepath.Join(dir, "maillog")
	port := func(s *testutil.SmtpSink) string { return strconv.Itoa(s.Port) }
	in := newInstance(t, `mynetworks = 192.0.2.0/24
relay_domains = relay.example, soft.example, hard.example
transport_maps = inline:{ relay.example=smtp:[127.0.0.1]:`+port(relay)+`, soft.example=smtp:[127.0.0.1]:`+port(soft)+`, hard.example=smtp:[127.0.0.1]:`+port(hard)+` }
smtpd_recipient_restrictions = check_recipient_access inline:{ {blocked@localhost=REJECT blocked by policy} }, reject_unauth_destination
header_checks = regexp:`+checks+`
maillog_file = `+maillog+`
`)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()

	day := []pflogSession{
		{from: "ann@outside.example", rcpts: []string{"alice@localhost", "bob@localhost"}, subject: "local"},
		{from: "ann@outside.example", rcpts: []string{"carol@relay.example"}, subject: "relayed"},
		{from: "ann@outside.example", rcpts: []string{"dave@soft.example"}, subject: "deferred"},
		{from: "alice@localhost", rcpts: []string{"erin@hard.example"}, subject: "bounced"},
		{from: "ann@outside.example", rcpts: []string{"nobody@localhost", "alice@localhost", "x@elsewhere.example"}, subject: "partly refused"},
		{from: "ann@outside.example", rcpts: []string{"blocked@localhost", "y@elsewhere.example"}, subject: "all refused"},
		{from: "ann@outside.example", rcpts: []string{"bob@localhost"}, subject: "cheap viagra"},
	}
	const rounds = 3
	var received, queued int
	for range rounds {
		for _, ps := range day {
			n, ok := ps.send(t, in.addr("smtp"))
			if n > 0 {
				received++
			}
			if ok {
				queued++
			}
		}
	}
	// Per round: 6 transactions with an accepted recipient (the
	// header_checks one too: Postfix logs its client= line before the
	// content is seen), 5 of them queued.
	require.Equal(t, 6*rounds, received)
	require.Equal(t, 5*rounds, queued)
	// Delivered: alice and bob, carol at smtp-sink, alice again, and the
	// bounce notice to alice; deferred dave; bounced erin.
	want := map[string]int{"received": 6 * rounds, "delivered": 5 * rounds, "forwarded": 0, "deferred": rounds, "bounced": rounds, "rejected": 5 * rounds}
	waitMaillog(t, maillog, func(log string) bool {
		return strings.Count(log, "status=sent") >= want["delivered"] &&
			strings.Count(log, "status=deferred") >= want["deferred"] &&
			strings.Count(log, "status=bounced") >= want["bounced"] &&
			strings.Count(log, "sender non-delivery notification") >= rounds
	})
	// The bounce notice's delivery comes after its queueing line.
	time.Sleep(200 * time.Millisecond)
	log, err := os.ReadFile(maillog)
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", log)
		}
	}()
	cmd := exec.Command(pflogsumm, "--syslog-name=yubin", "--problems-first", maillog)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "pflogsumm: %s", out)
	report := string(out)
	got := pflogsummTotals(report)
	for k, v := range want {
		assert.Equal(t, v, got[k], "pflogsumm's %q count", k)
	}
	reasons := pflogsummRejects(report)
	assert.Equal(t, map[string]int{
		"Relay access denied": 2 * rounds,
		"Recipient address rejected: User unknown in local recipient table": rounds,
		"Recipient address rejected: blocked by policy":                     rounds,
		"header": rounds, // cleanup's header_checks rejects
	}, reasons, "pflogsumm's reject detail")
	assert.Regexp(t, `(?m)^\s+`+strconv.Itoa(rounds)+`\s+Subject: cheap viagra$`, report, "the header_checks reject's header")
	// No line of the log read as a warning, fatal error or panic: the
	// deferrals and bounces are info lines, as Postfix's.
	for _, none := range []string{"Warnings: none", "Fatal Errors: none", "Panics: none"} {
		assert.Contains(t, report, none)
	}
	if t.Failed() {
		t.Logf("pflogsumm:\n%s", report)
	}
}

// waitMaillog waits up to 15 seconds for the log file to satisfy done.
func waitMaillog(t *testing.T, path string, done func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if done(string(b)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("maillog incomplete after 15s:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pflogsummTotalLine is a line of pflogsumm's "Grand Totals".
var pflogsummTotalLine = regexp.MustCompile(`^\s+(\d+)\s+(received|delivered|forwarded|deferred|bounced|rejected)\b`)

// pflogsummTotals reads the message counts of pflogsumm's "Grand Totals".
func pflogsummTotals(report string) map[string]int {
	got := map[string]int{}
	for _, l := range strings.Split(report, "\n") {
		if m := pflogsummTotalLine.FindStringSubmatch(l); m != nil {
			if _, seen := got[m[2]]; !seen {
				got[m[2]], _ = strconv.Atoi(m[1])
			}
		}
	}
	return got
}

// pflogsummReasonLine is a reason in pflogsumm's "message reject
// detail": "    Relay access denied (total: 3)".
var pflogsummReasonLine = regexp.MustCompile(`^\s+(.+?) \(total: (\d+)\)$`)

// pflogsummRejects reads the per-reason counts of pflogsumm's "message
// reject detail" section.
func pflogsummRejects(report string) map[string]int {
	got := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(report))
	in := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "message reject detail"):
			in = true
			continue
		case in && l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-"):
			in = false
		}
		if m := pflogsummReasonLine.FindStringSubmatch(l); in && m != nil {
			n, _ := strconv.Atoi(m[2])
			got[m[1]] += n
		}
	}
	return got
}
