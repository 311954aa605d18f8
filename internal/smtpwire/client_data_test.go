package smtpwire

import (
	"context"
	"strings"
	"testing"
	"time"
)

// smuggleMessages are messages with an end-of-data look-alike followed
// by commands that a lenient next hop would run if DATA ended there.
func smuggleMessages() []string {
	var out []string
	for _, seq := range smuggling {
		out = append(out, "Subject: smuggle\r\n\r\nbefore"+seq+"RSET\r\nMAIL FROM:<evil@example.org>\r\nafter\r\n")
	}
	return out
}

func dialEngine(t *testing.T, addr string, lmtp bool) *Client {
	t.Helper()
	ctx := context.Background()
	conn, err := Dial(ctx, "tcp", addr, Timeouts{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn, "127.0.0.1", lmtp)
	c.Timeout = 10 * time.Second
	t.Cleanup(func() { c.Close() })
	if err := c.Greet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientNoSmuggling sends the smuggling sequences over DATA and
// BDAT (pipelined and not, SMTP and LMTP) to the lenient recorder: it
// never sees RSET or a second MAIL, and every message arrives whole,
// with the same lines over DATA and BDAT.
func TestClientNoSmuggling(t *testing.T) {
	for _, tc := range []struct {
		name string
		lmtp bool
		ext  []string
	}{
		{"DATA", false, nil},
		{"DATA pipelined", false, []string{"PIPELINING"}},
		{"BDAT", false, []string{"CHUNKING"}},
		{"BDAT pipelined", false, []string{"CHUNKING", "PIPELINING"}},
		{"LMTP", true, []string{"PIPELINING"}},
	} {
		r := startRecorder(t, tc.lmtp, tc.ext...)
		c := dialEngine(t, r.addr(), tc.lmtp)
		ctx := context.Background()
		msgs := smuggleMessages()
		for _, m := range msgs {
			res, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader(m))
			if err != nil || res.Rcpt[0] != nil {
				t.Fatalf("%s: %+v %v", tc.name, res, err)
			}
		}
		c.Quit(ctx)
		r.assertNoInjection(t)
		mails := 0
		for _, cmd := range r.commands() {
			if strings.HasPrefix(cmd, "MAIL") {
				mails++
			}
		}
		if mails != len(msgs) {
			t.Errorf("%s: %d MAIL commands for %d messages", tc.name, mails, len(msgs))
		}
		got := r.messages()
		if len(got) != len(msgs) {
			t.Fatalf("%s: %d messages received", tc.name, len(got))
		}
		for i, m := range msgs {
			want := normalized(m)
			g := got[i]
			if b, ok := strings.CutPrefix(g, "BDAT:"); ok {
				g = b
			} else {
				// The recorder joined DATA lines with "\n".
				want = strings.TrimSuffix(strings.ReplaceAll(want, "\r\n", "\n"), "\n")
			}
			if g != want {
				t.Errorf("%s message %d: got %q, want %q", tc.name, i, g, want)
			}
		}
	}
}

// TestClientBinaryMIMEAsIs: BODY=BINARYMIME content goes out in BDAT
// chunks byte for byte, bare CR and LF included.
func TestClientBinaryMIMEAsIs(t *testing.T) {
	r := startRecorder(t, false, "CHUNKING", "BINARYMIME", "PIPELINING")
	c := dialEngine(t, r.addr(), false)
	msg := "Subject: bin\r\n\r\n\x00\r.\n\r\n"
	res, err := c.Send(context.Background(), "a@example.jp", []Recipient{{Addr: "b@example.org"}}, &MailOptions{Body: "BINARYMIME"}, strings.NewReader(msg))
	if err != nil || res.Rcpt[0] != nil {
		t.Fatal(res, err)
	}
	if got := r.messages(); len(got) != 1 || got[0] != "BDAT:"+msg {
		t.Fatalf("received %q", got)
	}
	if cmds := r.commands(); !strings.Contains(strings.Join(cmds, "\n"), "BODY=BINARYMIME") {
		t.Fatalf("commands %q", cmds)
	}
}

// TestSmtpSinkNoSmuggling sends the smuggling sequences to Postfix's
// smtp-sink, which takes a bare LF as a line end: its log shows one
// MAIL and one end of data per message and no RSET, and each dump holds
// the whole message.
func TestSmtpSinkNoSmuggling(t *testing.T) {
	s := startSmtpSink(t)
	c := dialEngine(t, s.addr, false)
	ctx := context.Background()
	msgs := smuggleMessages()
	for _, m := range msgs {
		res, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader(m))
		if err != nil || res.Rcpt[0] != nil {
			t.Fatalf("%+v %v", res, err)
		}
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 250 && !strings.Contains(s.log.String(), "QUIT\n"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	counts := map[string]int{}
	for _, cmd := range s.commands() {
		f, _, _ := strings.Cut(cmd, " ")
		counts[f]++
	}
	if counts["MAIL"] != len(msgs) || counts["."] != len(msgs) || counts["RSET"] != 0 {
		t.Fatalf("smtp-sink saw %v:\n%s", counts, s.log)
	}
	dumps := s.dumps(t, len(msgs))
	for _, m := range msgs {
		// smtp-sink stores lines ended with LF.
		want := "\n" + strings.ReplaceAll(normalized(m), "\r\n", "\n")
		found := false
		for _, d := range dumps {
			found = found || strings.Contains(d, want)
		}
		if !found {
			t.Errorf("no dump holds %q; dumps:\n%s", want, strings.Join(dumps, "\n----\n"))
		}
	}
}
