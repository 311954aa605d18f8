package smtp

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// TestPostfixHeaderChecksPrepend runs the same header_checks with PREPEND
// rules in the real Postfix 3.7 (its cleanup, the message then relayed
// into yubin) and in yubin's server, and compares the headers that come
// out, Received lines aside: each PREPEND sits right before the field
// that matched.
func TestPostfixHeaderChecksPrepend(t *testing.T) {
	hc := filepath.Join(t.TempDir(), "header_checks")
	if err := os.WriteFile(hc, []byte(`/^Subject: tag/ PREPEND X-Tagged: yes
/^X-Mailer:/ PREPEND X-Mailer-Seen: 1
/^From:/ PREPEND X-From-Tag: 1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := "From: a@example.jp\r\nTo: b@example.jp\r\nDate: Wed, 2 Dec 2026 03:00:00 +0000\r\n" +
		"Message-ID: <1@example.jp>\r\nX-Mailer: old\r\nSubject: tag me\r\n folded\r\nX-Other: 1\r\n\r\nbody\r\n"

	// Postfix's cleanup applies the checks; yubin only receives.
	relayed := &sink{}
	target := &Server{Backend: DataFunc(relayed.Data), NoReceivedHeader: true}
	taddr, _ := startServer(t, target, nil)
	_, tport, _ := net.SplitHostPort(taddr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf("relayhost = [127.0.0.1]:%s\nheader_checks = regexp:%s\n", tport, hc))
	send(t, p.Addr(), msg)
	p.WaitLog(t, "status=sent (250 2.0.0 Ok: queued as", 20*time.Second)

	// yubin's server applies the same checks.
	params := restrict.DefaultParams()
	params["myhostname"] = "mail.example.jp"
	params["mydestination"] = "example.jp"
	params["local_recipient_maps"] = ""
	params["header_checks"] = "regexp:" + hc
	pol, err := restrict.New(params)
	if err != nil {
		t.Fatal(err)
	}
	own := &sink{}
	oaddr, _ := startServer(t, &Server{Backend: DataFunc(own.Data), Policy: pol}, nil)
	send(t, oaddr, msg)

	pm, om := relayed.list(), own.list()
	if len(pm) != 1 || len(om) != 1 {
		t.Fatalf("%d relayed by Postfix, %d taken by yubin\n%s", len(pm), len(om), p.Log())
	}
	want, got := withoutReceived(string(pm[0].data)), withoutReceived(string(om[0].data))
	if got != want || !strings.Contains(got, "X-Tagged: yes\r\nSubject: tag me") {
		t.Fatalf("yubin:\n%s\nPostfix:\n%s", got, want)
	}
	t.Logf("both:\n%s", got)
}

// send hands msg from a@example.jp to b@example.jp to the server at addr.
func send(t *testing.T, addr, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit(ctx)
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(ctx, "a@example.jp", []string{"b@example.jp"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

// withoutReceived drops the Received fields (with their continuation
// lines) from a message's header.
func withoutReceived(m string) string {
	var b strings.Builder
	skip := false
	lines := strings.SplitAfter(m, "\n")
	for i, l := range lines {
		if l == "\r\n" || l == "\n" {
			b.WriteString(strings.Join(lines[i:], ""))
			break
		}
		if l[0] != ' ' && l[0] != '\t' {
			skip = strings.HasPrefix(strings.ToLower(l), "received:")
		}
		if !skip {
			b.WriteString(l)
		}
	}
	return b.String()
}
