package serve

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestProcessLimit: with a process limit of 2, a third client is not
// accepted (it waits in the backlog, not refused) until one of the two
// handlers ends; the limit is logged once.
func TestProcessLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf testutil.SyncBuffer
	var g Group
	g.SetLogger(slog.New(slog.NewTextHandler(&logBuf, nil)))
	g.SetProcessLimit(2, "smtp")
	release := make(chan struct{})
	started := make(chan net.Conn, 10)
	go g.Serve(l, func(c net.Conn) {
		started <- c
		<-release
		c.Close()
	})
	defer g.Close()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err) // the third connects too: it waits in the backlog
		}
		defer c.Close()
	}
	for i := 0; i < 2; i++ {
		select {
		case <-started:
		case <-time.After(2 * time.Second):
			t.Fatalf("only %d handlers started", i)
		}
	}
	select {
	case <-started:
		t.Fatal("a third handler started over the process limit")
	case <-time.After(200 * time.Millisecond):
	}
	release <- struct{}{}
	select {
	case <-started:
	case <-time.After(2 * time.Second):
		t.Fatal("the waiting client was not accepted after a handler ended")
	}
	close(release)
	if n := strings.Count(logBuf.String(), "has reached its process limit 2"); n != 1 {
		t.Errorf("the limit was logged %d times:\n%s", n, logBuf.String())
	}
}
