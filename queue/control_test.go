package queue

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAdmin is an Admin over a fixed list that records the calls.
type fakeAdmin struct {
	mu      sync.Mutex
	entries []Entry
	calls   []string
	fail    bool
}

func (f *fakeAdmin) List() []Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "list")
	return f.entries
}

func (f *fakeAdmin) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "flush")
}

func (f *fakeAdmin) op(name, id string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name+" "+id)
	if f.fail {
		return 0, errors.New("open /var/spool/yubin/secret: permission denied")
	}
	if id == "ALL" {
		return len(f.entries), nil
	}
	for _, e := range f.entries {
		if e.ID == id {
			return 1, nil
		}
	}
	return 0, nil
}

func (f *fakeAdmin) Hold(id string) (int, error)    { return f.op("hold", id) }
func (f *fakeAdmin) Release(id string) (int, error) { return f.op("release", id) }
func (f *fakeAdmin) Delete(id string) (int, error)  { return f.op("delete", id) }
func (f *fakeAdmin) Requeue(id string) (int, error) { return f.op("requeue", id) }

func (f *fakeAdmin) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// startControl serves a on a socket in a private directory and returns
// the socket's path.
func startControl(t *testing.T, a Admin) string {
	t.Helper()
	// Unix socket paths are short: use a short temporary directory.
	dir, err := os.MkdirTemp("", "yq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "control")
	l, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeControl(ctx, l, a, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeControl: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeControl did not return after cancel")
		}
	})
	return path
}

func TestControlCommands(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 30, 1, 0, time.Local)
	a := &fakeAdmin{entries: []Entry{
		{ID: "A1B2C3", Queue: "deferred", Size: 2048, Arrival: at, From: "s@example.jp",
			Recipients: []EntryRecipient{{Addr: "r@example.net", Reason: "connect to mx.example.net[192.0.2.1]:25: Connection refused"}}},
		{ID: "D4E5F6", Queue: "hold", Size: 100, Arrival: at, Recipients: []EntryRecipient{{Addr: "x@example.net"}}},
	}}
	path := startControl(t, a)
	ctx := context.Background()

	got, err := ControlCommand(ctx, path, "list")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	WriteMailq(&want, a.entries)
	if got != want.String() {
		t.Errorf("list:\n%s\nwant:\n%s", got, want.String())
	}

	got, err = ControlCommand(ctx, path, "list", "json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 {
		t.Fatalf("list json: %q", got)
	}
	var m struct {
		QueueName   string `json:"queue_name"`
		QueueID     string `json:"queue_id"`
		ArrivalTime int64  `json:"arrival_time"`
		MessageSize int64  `json:"message_size"`
		Recipients  []struct {
			DelayReason string `json:"delay_reason"`
		} `json:"recipients"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m.QueueID != "A1B2C3" || m.QueueName != "deferred" || m.ArrivalTime != at.Unix() || m.MessageSize != 2048 ||
		len(m.Recipients) != 1 || m.Recipients[0].DelayReason == "" {
		t.Errorf("list json: %+v", m)
	}
	if !strings.Contains(lines[1], `"sender": "MAILER-DAEMON"`) || strings.Contains(lines[1], "delay_reason") {
		t.Errorf("list json, held entry: %s", lines[1])
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"flush"}, "Queue flushed\n"},
		{[]string{"hold", "A1B2C3"}, "Placed on hold: 1 message\n"},
		{[]string{"release", "ALL"}, "Released from hold: 2 messages\n"},
		{[]string{"delete", "NOSUCH"}, "Deleted: 0 messages\n"},
		{[]string{"REQUEUE", "D4E5F6"}, "Requeued: 1 message\n"},
	} {
		got, err := ControlCommand(ctx, path, c.args...)
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.args, got, err, c.want)
		}
	}
	wantCalls := []string{"list", "list", "flush", "hold A1B2C3", "release ALL", "delete NOSUCH", "requeue D4E5F6"}
	if got := a.Calls(); strings.Join(got, ",") != strings.Join(wantCalls, ",") {
		t.Errorf("calls %q, want %q", got, wantCalls)
	}
}

// TestControlRefuses: bad commands and IDs are refused by the client
// and, sent raw, by the server, without reaching the Admin; an Admin
// error is reported without its text.
func TestControlRefuses(t *testing.T) {
	a := &fakeAdmin{}
	path := startControl(t, a)
	ctx := context.Background()
	for _, args := range [][]string{
		{"hold", "../etc/passwd"}, {"delete", "ALL*"}, {"delete", ""}, {"delete"}, {"requeue", "A", "B"},
		{"hold", strings.Repeat("A", 65)}, {"shutdown"}, {}, {"list", "xml"}, {"flush", "now"}, {"hold", "A\x00"},
	} {
		if _, err := ControlCommand(ctx, path, args...); err == nil {
			t.Errorf("%q accepted by the client", args)
		}
	}
	raw := func(line string) string {
		t.Helper()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, line)
		c.(*net.UnixConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	for line, want := range map[string]string{
		"hold ../x\n":                   "error invalid queue ID\n",
		"hold ALL ALL\r\n":              "error syntax error\n",
		"frobnicate\n":                  "error unknown command\n",
		"delete A\x01B\n":               "error syntax error\n",
		strings.Repeat("x", 600) + "\n": "error line too long\n",
		"list":                          "error no command\n",
		"\n":                            "error syntax error\n",
		"hold ABC\nrelease ABC\n":       "ok\nPlaced on hold: 0 messages\n",
		"list json\r\n":                 "ok\n",
		"delete " + strings.Repeat("9", 64) + "\n": "ok\nDeleted: 0 messages\n",
	} {
		if got := raw(line); got != want {
			t.Errorf("%.40q: reply %q, want %q", line, got, want)
		}
	}
	calls := a.Calls()
	slices.Sort(calls)
	if got := strings.Join(calls, ","); got != "delete "+strings.Repeat("9", 64)+",hold ABC,list" {
		t.Errorf("calls: %s", got)
	}

	a.fail = true
	_, err := ControlCommand(ctx, path, "delete", "ALL")
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "delete failed") {
		t.Errorf("Admin error: %v", err)
	}
}

// TestControlIdleClient: while a client sends nothing, other clients
// are served.
func TestControlIdleClient(t *testing.T) {
	path := startControl(t, &fakeAdmin{})
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ControlCommand(ctx, path, "flush"); err != nil {
		t.Fatalf("a second client was not served: %v", err)
	}
}

func TestListenControl(t *testing.T) {
	dir, err := os.MkdirTemp("", "yq")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "control")
	l, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v, %v", fi.Mode(), err)
	}
	// A live socket is not taken over.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := ListenControl(path); err == nil {
		t.Fatal("a live socket was taken over")
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	// A stale one is replaced.
	l2, err := ListenControl(path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l2.Close()
	// A regular file is left alone.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := ListenControl(file); err == nil {
		t.Fatal("a regular file was replaced by a socket")
	}
}

func TestControlCommandContext(t *testing.T) {
	// A server that accepts and never answers: the client gives up at
	// the context's deadline.
	dir, _ := os.MkdirTemp("", "yq")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			bufio.NewReader(c).ReadString('\n')
			time.Sleep(3 * time.Second)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := ControlCommand(ctx, path, "list"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// FuzzParseControl: no panic; what parses names a known command with a
// valid ID, and formats back to a line that parses the same.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{"list", "list json", "flush", "hold ABC123", "release ALL", "delete x", "requeue ../../x", "HOLD\tA", "hold A\x00", " list ", strings.Repeat("a", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseControl(line)
		if err != nil {
			return
		}
		switch cmd.Name {
		case "list":
			if cmd.Arg != "" && cmd.Arg != "json" {
				t.Fatalf("%q: %+v", line, cmd)
			}
		case "flush":
			if cmd.Arg != "" {
				t.Fatalf("%q: %+v", line, cmd)
			}
		case "hold", "release", "delete", "requeue":
			if !validControlID(cmd.Arg) || strings.ContainsAny(cmd.Arg, "./ \t") {
				t.Fatalf("%q: %+v", line, cmd)
			}
		default:
			t.Fatalf("%q: unknown command %+v accepted", line, cmd)
		}
		again, err := parseControl(strings.TrimSpace(cmd.Name + " " + cmd.Arg))
		if err != nil || again != cmd {
			t.Fatalf("%q: %+v reparsed as %+v, %v", line, cmd, again, err)
		}
	})
}

// TestControlShutdown: ServeControl returns soon after its context ends
// even while a client has not sent its command.
func TestControlShutdown(t *testing.T) {
	dir, err := os.MkdirTemp("", "yq")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "control")
	l, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeControl(ctx, l, &fakeAdmin{}, nil) }()
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(50 * time.Millisecond) // let the server start reading
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeControl: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ServeControl still waits for an idle client after its context ended")
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Error("the socket still accepts after shutdown")
	}
}
