package smtp

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixImproperPipeliningLog sends the same ill-timed input to the
// real Postfix 3.7 smtpd and to yubin, before the greeting and after
// EHLO, and compares the "improper command pipelining after ..." lines:
// the command named and the escaped bytes shown (CRLF, tab, backslash,
// control and 8-bit bytes).
func TestPostfixImproperPipeliningLog(t *testing.T) {
	// smtpd_delay_reject = no makes Postfix run the client restrictions
	// (a one-second sleep) before it greets, so the early bytes are there
	// when it looks.
	p := testutil.StartSMTPPostfix(t, "smtpd_delay_reject = no\nsmtpd_client_restrictions = sleep 1\n")
	be := gatedBackend{gate: make(chan struct{}), k: &sink{}}
	logs := &logBuf{}
	addr, _ := startServer(t, &Server{Backend: be, AllowUnauthPipelining: true, Logger: slog.New(slog.NewJSONHandler(logs, nil))}, nil)

	const junk = "NOOP \t\\\x01\x7f\xc3\xa9\r\n"
	// session talks to one server: early sends EHLO before the greeting,
	// else after it, pipelining junk behind EHLO.
	session := func(addr string, early bool, gate chan struct{}) {
		c := dialRaw(t, addr)
		if early {
			c.send("EHLO early.example.org\r\n" + junk)
		}
		if gate != nil {
			gate <- struct{}{}
		}
		c.expect("", "220 ")
		if !early {
			c.send("EHLO late.example.org\r\n" + junk)
		}
		c.expect("", "250-")
		c.reply() // NOOP with junk: refused as each server does
		c.expect("QUIT", "221 ")
	}
	for _, early := range []bool{true, false} {
		session(p.Addr(), early, nil)
		session(addr, early, be.gate)
	}

	re := regexp.MustCompile(`improper command pipelining after (\S+) from \S+: (.*)`)
	var want []string
	for _, l := range strings.Split(p.Log(), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			want = append(want, m[1]+" "+m[2])
		}
	}
	var got []string
	for _, l := range strings.Split(logs.String(), "\n") {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		if m := re.FindStringSubmatch(rec.Msg); m != nil {
			got = append(got, m[1]+" "+m[2])
		}
	}
	if len(want) != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("yubin logged\n%s\nPostfix logged\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("both logged:\n%s", strings.Join(got, "\n"))
}
