package smtpwire

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// smtpSink is Postfix's smtp-sink(1) started by a test: -v logs every
// command it receives, -d dumps every transaction into a file.
type smtpSink struct {
	addr string
	dir  string
	log  *lockedBuf
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSmtpSink starts smtp-sink -v on 127.0.0.1 with the options
// given, dumping every transaction into s.dir. testutil starts it again
// on another port when another program took the first one before
// smtp-sink bound it.
func startSmtpSink(t *testing.T, extra ...string) *smtpSink {
	t.Helper()
	s := &smtpSink{dir: testutil.SharedDir(t), log: &lockedBuf{}}
	ss := testutil.StartSmtpSinkConfig(t, testutil.SmtpSinkConfig{
		Options:      append([]string{"-v"}, extra...),
		DumpTemplate: filepath.Join(s.dir, "msg-"),
		Output:       s.log,
	})
	s.addr = ss.Addr
	return s
}

// commands returns the command lines smtp-sink logged.
func (s *smtpSink) commands() []string {
	var out []string
	for _, l := range strings.Split(s.log.String(), "\n") {
		if _, cmd, ok := strings.Cut(l, "smtp-sink: "); ok {
			out = append(out, cmd)
		}
	}
	return out
}

// dumps waits for n dump files and returns their contents.
func (s *smtpSink) dumps(t *testing.T, n int) []string {
	t.Helper()
	for i := 0; i < 250; i++ {
		files, _ := filepath.Glob(filepath.Join(s.dir, "msg-*"))
		if len(files) >= n {
			var out []string
			for _, f := range files {
				b, _ := os.ReadFile(f)
				out = append(out, string(b))
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("smtp-sink dumped fewer than %d messages", n)
	return nil
}

// TestSmtpSinkInjection runs every field injection against Postfix's
// smtp-sink, SMTP and LMTP, and checks in its conversation log that no
// RSET (nor anything else not sent on purpose) arrived.
func TestSmtpSinkInjection(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		var s *smtpSink
		if lmtp {
			s = startSmtpSink(t, "-L")
		} else {
			s = startSmtpSink(t)
		}
		runInjections(t, s.addr, lmtp)
		// smtp-sink logs QUIT and then "disconnect"; wait for the pair.
		for i := 0; i < 250 && !strings.Contains(s.log.String(), "QUIT\n"); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		cmds := s.commands()
		quits, rsets := 0, 0
		for _, c := range cmds {
			switch u := strings.ToUpper(c); {
			case strings.HasPrefix(u, "RSET"):
				rsets++
			case u == "QUIT":
				quits++
			}
		}
		if rsets != 0 || quits != 1 {
			t.Errorf("lmtp=%v: smtp-sink saw %d RSET, %d QUIT:\n%s", lmtp, rsets, quits, strings.Join(cmds, "\n"))
		}
		want := 1 + 4*len(injections)
		if d := s.dumps(t, want); len(d) != want {
			t.Errorf("lmtp=%v: %d dumps, want %d", lmtp, len(d), want)
		}
	}
}
