package pgstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

func bg(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func openBox(t testing.TB, s store.Store, name string) store.Mailbox {
	t.Helper()
	mb, err := s.OpenMailbox(bg(t), name, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

func userStore(t testing.TB, b *pgstore.Backend, user string) store.Store {
	t.Helper()
	s, err := b.Open(bg(t), user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitNotified waits at most d for a signal on mb.Notify.
func waitNotified(t testing.TB, mb store.Mailbox, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-mb.Notify():
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("no notification within %v", d)
		return 0
	}
}

func kinds(changes []store.Change) string {
	var out []string
	for _, c := range changes {
		out = append(out, fmt.Sprintf("%d:%d", c.Kind, c.UID))
	}
	return strings.Join(out, " ")
}

// TestTwoBackendsNotify: two Backends (two pools, two LISTEN
// connections, as two servers have) on one database. A handle on
// backend A is notified (latency logged) of an append, a flag change and
// an expunge made through backend B, and Poll reports them in order;
// B's handle never sees its own changes again.
func TestTwoBackendsNotify(t *testing.T) {
	conn := newDB(t)
	ba := openBackend(t, conn, pgstore.Options{})
	bb := openBackend(t, conn, pgstore.Options{})
	a := openBox(t, userStore(t, ba, "u"), store.Inbox)
	b := openBox(t, userStore(t, bb, "u"), store.Inbox)
	if _, err := a.Status(bg(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Status(bg(t)); err != nil {
		t.Fatal(err)
	}
	res, err := b.Append(bg(t), strings.NewReader("Subject: 1\r\n\r\nx\r\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("append seen after %v", waitNotified(t, a, 5*time.Second))
	ch, err := a.Poll(bg(t))
	if err != nil || kinds(ch) != fmt.Sprintf("%d:%d", store.ChangeNew, res.UID) {
		t.Fatalf("poll after append: %v %v", kinds(ch), err)
	}
	if _, _, err := b.SetFlags(bg(t), store.UIDSetOf(res.UID), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, a, 5*time.Second)
	ch, _ = a.Poll(bg(t))
	if kinds(ch) != fmt.Sprintf("%d:%d", store.ChangeFlags, res.UID) || ch[0].Message.Flags.System != store.Deleted {
		t.Fatalf("poll after store: %+v", ch)
	}
	if _, err := b.Expunge(bg(t), nil); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, a, 5*time.Second)
	// The expunge is visible only at Poll: the view still has the message.
	if st, _ := a.Status(bg(t)); st.Messages != 1 {
		t.Fatalf("expunge visible before Poll: %+v", st)
	}
	ch, _ = a.Poll(bg(t))
	if kinds(ch) != fmt.Sprintf("%d:%d", store.ChangeExpunge, res.UID) {
		t.Fatalf("poll after expunge: %v", kinds(ch))
	}
	if own, err := b.Poll(bg(t)); err != nil || len(own) != 0 {
		t.Fatalf("own changes reported: %v %v", kinds(own), err)
	}
	select {
	case <-b.Notify():
		t.Fatal("acting handle notified of its own changes")
	default:
	}
}

// TestProcessNotify runs the writer in a separate process (this test
// binary re-executed): a handle here is notified of its append, flag
// change and expunge (the latency from the writer's acknowledgement is
// logged; the bound is loose for a loaded machine) and Poll reports
// each one.
func TestProcessNotify(t *testing.T) {
	if os.Getenv("PGSTORE_CHILD") != "" {
		t.Skip("child")
	}
	conn := newDB(t)
	b := openBackend(t, conn, pgstore.Options{})
	a := openBox(t, userStore(t, b, "u"), store.Inbox)
	a.Status(bg(t))
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildWriter$")
	cmd.Env = append(os.Environ(), "PGSTORE_CHILD="+conn)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("child ended before %q: %s", want, errOut.String())
				}
				if l == want {
					return
				}
			case <-timeout:
				t.Fatalf("child did not say %q", want)
			}
		}
	}
	expect("ready")
	for i, step := range []string{"append", "flag", "expunge"} {
		fmt.Fprintln(stdin, step)
		expect("ok")
		d := waitNotified(t, a, 5*time.Second)
		ch, err := a.Poll(bg(t))
		if err != nil || len(ch) != 1 || int(ch[0].Kind) != i+1 {
			t.Fatalf("%s: %v %v", step, kinds(ch), err)
		}
		t.Logf("%s from another process notified %v after it committed", step, d)
	}
}

// TestChildWriter is the writing process of TestProcessNotify: it does
// one change per line read from stdin.
func TestChildWriter(t *testing.T) {
	conn := os.Getenv("PGSTORE_CHILD")
	if conn == "" {
		t.Skip("run by TestProcessNotify")
	}
	b := openBackend(t, conn, pgstore.Options{})
	mb := openBox(t, userStore(t, b, "u"), store.Inbox)
	fmt.Println("ready")
	var uid uint32
	var line string
	for {
		if _, err := fmt.Fscanln(os.Stdin, &line); err != nil {
			return
		}
		switch line {
		case "append":
			res, err := mb.Append(bg(t), strings.NewReader("Subject: c\r\n\r\nx\r\n"), store.AppendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			uid = res.UID
		case "flag":
			if _, _, err := mb.SetFlags(bg(t), store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
				t.Fatal(err)
			}
		case "expunge":
			if _, err := mb.Expunge(bg(t), nil); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Println("ok")
	}
}
