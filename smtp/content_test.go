package smtp

import (
	"bytes"
	"context"
	"fmt"
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
// server: REJECT, DISCARD, IGNORE, PREPEND (right before the field or
// body line that matched, as cleanup puts it) and a body REJECT, over
// DATA and BDAT.
func TestSMTPHeaderBodyChecks(t *testing.T) {
	dir := t.TempDir()
	hc := filepath.Join(dir, "header_checks")
	bc := filepath.Join(dir, "body_checks")
	os.WriteFile(hc, []byte(`/^Received: from .*spam-net\.com/ REJECT
/^Subject: discard me/ DISCARD
/^X-Mailer: old/ IGNORE
/^Subject: tag/ PREPEND X-Tagged: yes
/^From: a@x\.org/ PREPEND X-From-Tag: 1
`), 0o644)
	os.WriteFile(bc, []byte("/forbidden phrase/ REJECT Body not accepted\n/^tag this line/ PREPEND X-Body-Tag: 1\n"), 0o644)
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
	if got := send("ok.example.org", "X-Mailer: old thing\r\nSubject: tag me\r\nFrom: a@x.org\r\n\r\n.. stuffed\r\nbody\r\ntag this line\r\n", false); !strings.HasPrefix(got, "250 2.0.0 Ok") {
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
	if !strings.HasPrefix(m, "Received: from ok.example.org") || strings.Contains(m, "X-Mailer") || strings.Count(m, "X-Tagged") != 1 ||
		!strings.HasSuffix(m, "\r\nX-Tagged: yes\r\nSubject: tag me\r\nX-From-Tag: 1\r\nFrom: a@x.org\r\n\r\n. stuffed\r\nbody\r\nX-Body-Tag: 1\r\ntag this line\r\n") {
		t.Fatalf("edited message: %q", m)
	}
	if m := string(msgs[1].data); !strings.HasSuffix(m, "\r\nSubject: plain\r\n\r\nbody") {
		t.Fatalf("plain message: %q", m)
	}
	logs.waitLog(t, "reject: header Received: from mx.spam-net.com")
}

// passChecker accepts everything; with edit, it prepends a line before
// each Subject field, drops X-Mailer fields, replaces X-Last fields and
// refuses bodies containing "REJECT".
type passChecker struct{ edit bool }

func (c passChecker) CheckHeaders(ctx context.Context, hdrs []restrict.HeaderLine) (restrict.Decision, error) {
	if len(hdrs) != 1 {
		return restrict.Decision{}, fmt.Errorf("%d fields in one call", len(hdrs))
	}
	if !c.edit {
		return restrict.Decision{}, nil
	}
	switch strings.ToLower(hdrs[0].Name) {
	case "subject":
		return restrict.Decision{Prepend: []string{"X-Checked: yes"}}, nil
	case "x-mailer":
		return restrict.Decision{HeaderEdits: []restrict.HeaderEdit{{Index: 0, Delete: true}}}, nil
	case "x-last":
		return restrict.Decision{HeaderEdits: []restrict.HeaderEdit{{Index: 0, Replace: "X-Last: replaced"}}}, nil
	}
	return restrict.Decision{}, nil
}

// TestContentFilterEdits: a PREPEND goes right before the field that
// asked for it (not at the top, as cleanup does it), folded fields stay
// whole, IGNORE and REPLACE hit their own field only.
func TestContentFilterEdits(t *testing.T) {
	srv := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ss := &session{srv: srv, ctx: context.Background()}
	in := "Received: from a\r\n\tby b\r\nX-Mailer: m\r\nSubject: s\r\n folded\r\nX-Last: l\r\nSubject: again\r\n\r\nSubject: body\r\n"
	cf := newContentFilter(ss, passChecker{edit: true}, strings.NewReader(in))
	cf.ec = &endCheck{ss: ss}
	out, err := io.ReadAll(cf)
	want := "Received: from a\r\n\tby b\r\nX-Checked: yes\r\nSubject: s\r\n folded\r\nX-Last: replaced\r\nX-Checked: yes\r\nSubject: again\r\n\r\nSubject: body\r\n"
	if err != nil || string(out) != want {
		t.Fatalf("got %q, %v\nwant %q", out, err, want)
	}
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
			grow := bytes.Count(bytes.ToLower(msg), []byte("subject:"))*len("X-Checked: yes\r\n") +
				bytes.Count(bytes.ToLower(msg), []byte("x-last:"))*len("X-Last: replaced\r\n")
			if len(out) > len(msg)+grow {
				t.Fatalf("edit grew the message: %q -> %q", msg, out)
			}
		}
	})
}
