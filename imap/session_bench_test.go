package imap

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/maildir"
)

// BenchmarkSessionCommands measures the commands whose responses carry
// flags and mailbox updates (FETCH FLAGS of a whole mailbox, STORE,
// NOOP reporting another session's changes, SEARCH) over 1,000 messages
// with keywords, through a real socket and a shared maildir Store. One
// op is the whole round of commands.
func BenchmarkSessionCommands(b *testing.B) {
	root := b.TempDir()
	env := newTestEnvAt(b, root, func(s *Server) {
		s.Backend = maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return maildirRoot(root, user), nil
		}, maildir.Options{NoSync: true})
	})
	a := env.login(b, "alice", "secret")
	const n = 1000
	for i := 0; i < n; i++ {
		kw := ""
		if i%3 == 0 {
			kw = fmt.Sprintf("(Kw%d $Label%d) ", i%7, i%5)
		}
		msg := fmt.Sprintf("Subject: m%d\r\nFrom: x@example.org\r\n\r\nbody %d\r\n", i, i)
		a.n++
		tag := fmt.Sprintf("t%d", a.n)
		a.send(fmt.Sprintf("%s APPEND INBOX %s{%d+}", tag, kw, len(msg)))
		a.send(msg)
		for !strings.HasPrefix(a.line(), tag+" ") {
		}
	}
	// o selects first and holds \Recent, so a's answers are the same
	// size whichever session would claim it.
	o := env.login(b, "alice", "secret")
	o.ok("SELECT INBOX")
	a.ok("SELECT INBOX")
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.ok("FETCH 1:* (FLAGS)")
		a.ok(fmt.Sprintf("STORE %d +FLAGS (\\Flagged Kw%d)", 1+i%n, i%7))
		o.ok(fmt.Sprintf("STORE %d:%d +FLAGS.SILENT (\\Seen)", 1+i%n, 1+(i+20)%n))
		a.ok("NOOP")
		a.ok("SEARCH UNSEEN KEYWORD Kw1")
	}
	b.StopTimer()
	// CPU time (user+system, client and server together) per round:
	// steadier than wall time on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the process's user+system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
