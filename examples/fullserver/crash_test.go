package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// crashLoadScript submits messages to a foreign recipient from several
// smtplib clients until the server goes away, and prints the token of
// every message that got its 250.
const crashLoadScript = pyPrelude + `
import threading
acked = []
lock = threading.Lock()
def worker(n):
    try:
        s = smtplib.SMTP('127.0.0.1', P('SMTP'), timeout=10)
        for i in range(100000):
            tok = 'tok-%s-%d-%d' % (os.environ['ROUND'], n, i)
            s.sendmail('sender@localhost', ['far@example.net'], 'Subject: %s\r\n\r\n%s\r\n' % (tok, 'x' * 1500))
            with lock:
                acked.append(tok)
    except Exception:
        pass
threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
for th in threads:
    th.start()
for th in threads:
    th.join(60)
print('ACKED', ' '.join(acked))
`

// TestQueueCrashSmtpSinkKill9: smtplib clients submit mail for another
// domain while the server is killed with SIGKILL at random moments,
// three times, each time started again. Every message that got a 250
// reaches the relayhost (Postfix's smtp-sink) in the end; duplicates
// (delivered, then killed before the queue recorded it) are counted.
func TestQueueCrashSmtpSinkKill9(t *testing.T) {
	t.Parallel()
	py := testutil.RequireBinary(t, "python3")
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("sender")
	acked := map[string]bool{}
	cur := in
	for round := 0; round < 3; round++ {
		if round > 0 {
			cur = &instance{t: t, data: in.data, cfg: in.cfg, ports: in.ports, done: make(chan struct{})}
		}
		cur.start()
		load := exec.Command(py, "-c", crashLoadScript)
		load.Env = append(os.Environ(), "SMTP="+strconv.Itoa(cur.ports["smtp"]), "ROUND="+strconv.Itoa(round))
		outc := make(chan []byte, 1)
		go func() { out, _ := load.CombinedOutput(); outc <- out }()
		// The random moment counts from the first message queued: on a
		// loaded machine python's start alone can outlast the delay, and
		// a round that acknowledged nothing tests nothing.
		cur.waitLog("(queue active)")
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		cur.cmd.Process.Kill()
		<-cur.done
		var out []byte
		select {
		case out = <-outc:
		case <-time.After(60 * time.Second):
			t.Fatal("the load did not end after the kill")
		}
		i := strings.Index(string(out), "ACKED")
		if i < 0 {
			t.Fatalf("load output:\n%s", out)
		}
		n := 0
		for _, tok := range strings.Fields(string(out[i+len("ACKED"):])) {
			acked[tok] = true
			n++
		}
		t.Logf("round %d: %d acknowledged before SIGKILL", round, n)
	}
	if len(acked) < 20 {
		t.Fatalf("only %d messages acknowledged; the load was too short", len(acked))
	}
	// A last start delivers what the queue still holds.
	last := &instance{t: t, data: in.data, cfg: in.cfg, ports: in.ports, done: make(chan struct{})}
	last.start()
	tokRE := regexp.MustCompile(`Subject: (tok-\d+-\d+-\d+)`)
	var got map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = map[string]int{}
		for _, m := range sink.Messages(t) {
			if s := tokRE.FindStringSubmatch(m); s != nil {
				got[s[1]]++
			}
		}
		missing := 0
		for tok := range acked {
			if got[tok] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
	}
	var lost []string
	dups := 0
	for tok := range acked {
		if got[tok] == 0 {
			lost = append(lost, tok)
		}
	}
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("%d acknowledged, %d distinct delivered (including unacknowledged ones), %d duplicates", len(acked), len(got), dups)
	if len(lost) > 0 {
		t.Errorf("%d acknowledged messages never reached the relayhost: %v", len(lost), lost)
	}
}
