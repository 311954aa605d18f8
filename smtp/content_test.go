package smtp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/restrict"
)

// TestSMTPHeaderBodyChecks runs a real restrict.Policy with header_checks
// and body_checks (seed 000's Received rule among them) through the
// server: REJECT, DISCARD, IGNORE, PREPEND and a body REJECT, over DATA
// and BDAT.
func TestSMTPHeaderBodyChecks(t *testing.T) {
	dir := t.TempDir()
	hc := filepath.Join(dir, "header_checks")
	bc := filepath.Join(dir, "body_checks")
	os.WriteFile(hc, []byte(`/^Received: from .*spam-net\.com/ REJECT
/^Subject: discard me/ DISCARD
/^X-Mailer: old/ IGNORE
/^Subject: tag/ PREPEND X-Tagged: yes
`), 0o644)
	os.WriteFile(bc, []byte("/forbidden phrase/ REJECT Body not accepted\n"), 0o644)
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["header_checks"] = "regexp:" + hc
	p["body_checks"] = "regexp:" + bc
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	addr, logs := startServer(t, &Server{Backend: DataFunc(k.Data), Policy: pol}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	send := func(helo, msg string, bdat bool) string {
		c.expect("EHLO "+helo, "250-")
		c.expect("MAIL FROM:<a@x.org>", "250 ")
		c.expect("RCPT TO:<b@example.jp>", "250 ")
		if bdat {
			c.send("BDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
		} else {
			c.expect("DATA", "354 ")
			c.send(msg + ".\r\n")
		}
		return c.reply()
	}
	for _, bdat := range []bool{false, true} {
		if got := send("mx.spam-net.com", "Subject: hi\r\n\r\nbody\r\n", bdat); !strings.HasPrefix(got, "550 5.7.1 ") {
			t.Fatalf("own Received from spam-net: %q", got)
		}
		if got := send("ok.example.org", "Received: from a.spam-net.com (x [192.0.2.1])\r\n\tby b; date\r\nSubject: hi\r\n\r\nbody\r\n", bdat); !strings.HasPrefix(got, "550 5.7.1 ") {
			t.Fatalf("folded Received from spam-net: %q", got)
		}
		if got := send("ok.example.org", "Subject: discard me\r\n\r\nbody\r\n", bdat); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
			t.Fatalf("discard: %q", got)
		}
		if got := send("ok.example.org", "Subject: x\r\n\r\nline\r\nthe forbidden phrase\r\n", bdat); got != "550 5.7.1 Body not accepted" {
			t.Fatalf("body check: %q", got)
		}
	}
	if got := send("ok.example.org", "X-Mailer: old thing\r\nSubject: tag me\r\nFrom: a@x.org\r\n\r\n.. stuffed\r\nbody\r\n", false); !strings.HasPrefix(got, "250 2.0.0 Ok") {
		t.Fatalf("edited message: %q", got)
	}
	if got := send("ok.example.org", "Subject: plain\r\n\r\nbody", true); !strings.HasPrefix(got, "250 2.0.0 Ok") {
		t.Fatalf("plain BDAT: %q", got)
	}
	c.expect("QUIT", "221 ")
	msgs := k.list()
	if len(msgs) != 2 {
		t.Fatalf("%d delivered, want 2", len(msgs))
	}
	m := string(msgs[0].data)
	if !strings.HasPrefix(m, "X-Tagged: yes\r\nReceived: from ok.example.org") || strings.Contains(m, "X-Mailer") ||
		!strings.HasSuffix(m, "\r\nSubject: tag me\r\nFrom: a@x.org\r\n\r\n. stuffed\r\nbody\r\n") {
		t.Fatalf("edited message: %q", m)
	}
	if m := string(msgs[1].data); !strings.HasSuffix(m, "\r\nSubject: plain\r\n\r\nbody") {
		t.Fatalf("plain message: %q", m)
	}
	logs.waitLog(t, "reject: header Received: from mx.spam-net.com")
}

// passChecker accepts everything; editChecker drops the first header
// field and prepends one, and refuses bodies containing "REJECT".
type passChecker struct{ edit bool }

func (c passChecker) CheckHeaders(ctx context.Context, hdrs []restrict.HeaderLine) (restrict.Decision, error) {
	if c.edit && len(hdrs) > 0 {
		return restrict.Decision{Prepend: []string{"X-Checked: yes"}, HeaderEdits: []restrict.HeaderEdit{{Index: 0, Delete: true}, {Index: len(hdrs) - 1, Replace: "X-Last: replaced"}}}, nil
	}
	return restrict.Decision{}, nil
}

func (c passChecker) CheckBody(ctx context.Context, line string) (restrict.Decision, error) {
	if c.edit && strings.Contains(line, "REJECT") {
		return restrict.Decision{Action: restrict.Reject, Code: 550, Enhanced: "5.7.1", Text: "no"}, nil
	}
	return restrict.Decision{}, nil
}

// FuzzContentFilter: the header/body inspection never panics, passes a
// message through unchanged when the checks say nothing, and stays
// within its limits when they edit.
func FuzzContentFilter(f *testing.F) {
	for _, s := range []string{"Subject: a\r\n\r\nbody\r\n", "A: b\r\n c\r\nD:e\n\nx", "no header\r\n", " leading\r\nA:b\r\n", "A:" + strings.Repeat("x", 5000) + "\r\n\r\nREJECT\r\n", ""} {
		f.Add([]byte(s), uint16(100))
	}
	f.Fuzz(func(t *testing.T, msg []byte, maxHeader uint16) {
		srv := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxHeaderBytes: int(maxHeader) + 1, MaxBodyCheckBytes: 200}
		for _, edit := range []bool{false, true} {
			ss := &session{srv: srv, ctx: context.Background()}
			ec := &endCheck{ss: ss}
			cf := newContentFilter(ss, passChecker{edit}, bytes.NewReader(msg))
			cf.ec = ec
			out, err := io.ReadAll(cf)
			if !edit {
				if err != nil || !bytes.Equal(out, msg) {
					t.Fatalf("pass-through changed the message: %q -> %q, %v", msg, out, err)
				}
				continue
			}
			if err != nil && err != errPolicyRefused {
				t.Fatalf("edit: err %v", err)
			}
			if len(out) > len(msg)+len("X-Checked: yes\r\nX-Last: replaced\r\n") {
				t.Fatalf("edit grew the message: %q -> %q", msg, out)
			}
		}
	})
}
