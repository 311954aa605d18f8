package queuebench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// postfix is the private Postfix 3.7: u0..u(users-1)@example.jp into
// base/uN/Maildir/ by virtual(8) (Maildir, fsync defaults), everything
// else to relayhost, the sink.
type postfix struct {
	*testutil.SMTPPostfix
	base   string
	master int
}

func startPostfix(b *testing.B, users, sinkPort int, extra string) *postfix {
	base := testutil.SharedDir(b)
	os.Chown(base, testutil.PlainUID, testutil.PlainGID)
	maps := filepath.Join(base, "vmaps")
	var m strings.Builder
	for i := 0; i < users; i++ {
		fmt.Fprintf(&m, "u%d@example.jp u%d/Maildir/\n", i, i)
	}
	if err := os.WriteFile(maps, []byte(m.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p := testutil.StartSMTPPostfix(b, fmt.Sprintf(`virtual_mailbox_domains = example.jp
virtual_mailbox_base = %s
virtual_mailbox_maps = texthash:%s
virtual_uid_maps = static:%d
virtual_gid_maps = static:%d
relayhost = [127.0.0.1]:%d
smtpd_client_connection_count_limit = 0
default_process_limit = 200
%s
`, base, maps, testutil.PlainUID, testutil.PlainGID, sinkPort, extra))
	pidText, err := os.ReadFile(filepath.Join(p.Queue, "pid", "master.pid"))
	if err != nil {
		b.Fatal(err)
	}
	master, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if master == 0 {
		b.Fatal("no Postfix master PID")
	}
	return &postfix{SMTPPostfix: p, base: base, master: master}
}

// sink is Postfix's smtp-sink on 127.0.0.1, counting the messages it
// received (its -c counters).
type sink struct {
	port int
	mu   sync.Mutex
	tail []byte // output after the last \r
	mesg int
}

var sinkCounter = regexp.MustCompile(`mesg=(\d+)`)

// lastMesg returns the last "mesg=N" counter in smtp-sink -c output.
func lastMesg(s string) (int, bool) {
	m := sinkCounter.FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	return n, err == nil
}

// Write takes smtp-sink's standard output: counter lines end in \r,
// not \n.
func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail = append(s.tail, p...)
	if i := bytes.LastIndexByte(s.tail, '\r'); i >= 0 {
		if n, ok := lastMesg(string(s.tail[:i])); ok {
			s.mesg = n
		}
		s.tail = append(s.tail[:0], s.tail[i+1:]...)
	}
	return len(p), nil
}

// startSink starts smtp-sink with counters and no dumps; testutil binds
// it again on another port when another program took the first.
func startSink(b testing.TB) *sink {
	s := &sink{}
	ss := testutil.StartSmtpSinkConfig(b, testutil.SmtpSinkConfig{
		Options: []string{"-c", "-4", "-m", "1000"},
		NoDump:  true,
		Backlog: 1024,
		Output:  s,
	})
	s.port = ss.Port
	return s
}

// received is the number of messages the sink got so far.
func (s *sink) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mesg
}
