package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmtplibSIGTERMDuringBurstLosesNothing: eight smtplib clients submit
// as fast as they can while the server gets SIGTERM; every message that
// got a 250 is in the Maildir once the server has been started again
// (what the queue held when it stopped is delivered after the restart).
func TestSmtplibSIGTERMDuringBurstLosesNothing(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := python(t, pyPrelude+`
import threading, signal, time
acked = []
lock = threading.Lock()
def worker(n):
    try:
        s = smtplib.SMTP('127.0.0.1', P('SMTP'), timeout=30)
        for i in range(100000):
            mid = 'burst-%d-%d' % (n, i)
            s.sendmail('x@example.org', ['alice@localhost'], 'Subject: %s\r\n\r\n%s\r\n' % (mid, 'x' * 2000))
            with lock:
                acked.append(mid)
    except Exception as e:
        pass
threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
for th in threads:
    th.start()
time.sleep(1.5)
os.kill(int(os.environ['PID']), signal.SIGTERM)
for th in threads:
    th.join(60)
print('ACKED', ' '.join(acked))
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "PID="+strconv.Itoa(in.cmd.Process.Pid))
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	line := out[strings.Index(out, "ACKED")+len("ACKED"):]
	acked := strings.Fields(line)
	if len(acked) < 10 {
		t.Fatalf("only %d messages acknowledged before SIGTERM; burst too short:\n%s", len(acked), out)
	}
	// Start again: the queue delivers what it held when it stopped.
	again := &instance{t: t, data: in.data, cfg: in.cfg, ports: in.ports, done: make(chan struct{})}
	again.start()
	var stored map[string]bool
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		stored = storedSubjects(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"))
		if len(stored) >= len(acked) || time.Now().After(deadline) {
			break
		}
	}
	var lost []string
	for _, id := range acked {
		if !stored[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged messages lost: %v", len(lost), len(acked), lost)
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(stored))
}

// storedSubjects returns the subjects of the messages in a Maildir.
func storedSubjects(t *testing.T, md string) map[string]bool {
	stored := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(md, sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // renamed from new/ to cur/ meanwhile
			}
			if i := strings.Index(string(b), "Subject: "); i >= 0 {
				rest := string(b[i+len("Subject: "):])
				stored[rest[:strings.IndexAny(rest, "\r\n")]] = true
			}
		}
	}
	return stored
}
