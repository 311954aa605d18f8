package smtp

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixNonSMTPCommand sends HTTP requests and header fields where
// an SMTP command belongs to the real Postfix 3.7 and to yubin's server:
// both answer "221 2.7.0 Error: I can break rules, too. Goodbye.", hang
// up, and log "warning: non-SMTP command from ...: <line>"; a line that
// only looks odd ("X-Foo bar", "GETX /") is an unknown command to both.
func TestPostfixNonSMTPCommand(t *testing.T) {
	p := testutil.StartSMTPPostfix(t, "")
	addr, logs := startServer(t, &Server{Backend: DataFunc((&sink{}).Data)}, nil)
	lines := []string{"GET / HTTP/1.0", "post /form HTTP/1.1", "CONNECT mx.example:25 HTTP/1.1", "Subject: hi", "X-Foo: bar", "X-Foo bar", "GETX /"}
	// session returns the reply's code, and its text with " EOF" when
	// the server hung up after a 221.
	session := func(addr, line string) string {
		c := dialRaw(t, addr)
		c.reply()
		c.send(line + "\r\n")
		r := c.reply()
		if !strings.HasPrefix(r, "221") {
			return r[:3]
		}
		if _, err := c.r.ReadByte(); err == nil {
			return r + " (session goes on)"
		}
		return r + " EOF"
	}
	for _, l := range lines {
		want, got := session(p.Addr(), l), session(addr, l)
		if got != want {
			t.Errorf("%q: Postfix %q, yubin %q", l, want, got)
		}
	}
	re := regexp.MustCompile(`warning: non-SMTP command from \S+: (.*?)(?:"|$)`)
	pick := func(log string) []string {
		var out []string
		for _, l := range strings.Split(log, "\n") {
			if m := re.FindStringSubmatch(l); m != nil {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	for deadline := time.Now().Add(5 * time.Second); len(pick(p.Log())) < 5 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if w, g := pick(p.Log()), pick(logs.String()); !slices.Equal(w, g) || len(w) != 5 {
		t.Errorf("warnings:\nPostfix %q\nyubin   %q", w, g)
	}
}
