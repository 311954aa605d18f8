package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/smtp"
)

// TestFullserverQueueCommands: mail for another domain waits in the
// queue while the relayhost refuses it for now (451); "fullserver queue
// list" shows it as mailq does with the deferral reason, hold and
// release move it in and out of the hold queue, flush delivers it once
// the relayhost takes mail, and delete empties the queue.
func TestFullserverQueueCommands(t *testing.T) {
	t.Parallel()
	var up atomic.Bool
	var got atomic.Int32
	relay := &smtp.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, r io.Reader) error {
		io.Copy(io.Discard, r)
		if !up.Load() {
			return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "relay down for maintenance"}
		}
		got.Add(1)
		return nil
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go relay.Serve(l)
	t.Cleanup(func() { relay.Close() })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	in := newInstance(t, "relayhost = ["+host+"]:"+port+"\nminimal_backoff_time = 1h\nmaximal_backoff_time = 1h\nqueue_run_delay = 1h\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	q := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCmd(t, "", append([]string{"-config", in.cfg, "queue"}, args...)...)
		if code != 0 {
			t.Fatalf("queue %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	send := func(subject string) {
		in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('alice@localhost', ['far@example.net'], 'Subject: `+subject+`\r\n\r\nhello\r\n')
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	}
	send("one")
	in.waitLog("to=<far@example.net>, relay=")
	// The log line comes before the deferral is recorded: until then
	// the message is listed active ("ID*"), without its reason.
	idRE := regexp.MustCompile(`(?m)^([0-9A-F]+)\s+\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  alice@localhost$`)
	var list string
	var m []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		list = q("list")
		if m = idRE.FindStringSubmatch(list); m != nil || time.Now().After(deadline) {
			break
		}
	}
	if m == nil || !strings.Contains(list, "relay down for maintenance") || !strings.Contains(list, "far@example.net") || !strings.Contains(list, " Kbytes in 1 Request.") {
		t.Fatalf("queue list:\n%s", list)
	}
	id := m[1]
	if out := q("hold", id); !strings.Contains(out, "Placed on hold: 1 message") {
		t.Errorf("hold: %q", out)
	}
	if list := q("list"); !strings.Contains(list, id+"!") {
		t.Errorf("a held message is listed without '!':\n%s", list)
	}
	if out := q("release", id); !strings.Contains(out, "Released from hold: 1 message") {
		t.Errorf("release: %q", out)
	}
	// The relayhost takes mail again; flush delivers at once (the next
	// retry would be an hour away).
	time.Sleep(100 * time.Millisecond) // the release's own attempt may still be failing
	up.Store(true)
	if out := q("flush"); !strings.Contains(out, "Queue flushed") {
		t.Errorf("flush: %q", out)
	}
	for deadline := time.Now().Add(10 * time.Second); got.Load() == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if got.Load() != 1 {
		t.Fatalf("the relayhost got %d messages after flush", got.Load())
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(q("list"), "Mail queue is empty") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	// delete: a second message, deferred.
	up.Store(false)
	send("two")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(q("list"), "relay down") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if out := q("delete", "ALL"); !strings.Contains(out, "Deleted: 1 message") {
		t.Errorf("delete ALL: %q", out)
	}
	if list := q("list"); !strings.Contains(list, "Mail queue is empty") {
		t.Errorf("after delete:\n%s", list)
	}
	if code, _, errOut := runCmd(t, "", "-config", in.cfg, "queue", "hold", "../etc"); code == 0 || !strings.Contains(errOut, "invalid queue ID") {
		t.Errorf("a bad queue ID: exit %d, %q", code, errOut)
	}
}
