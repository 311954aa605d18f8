package restrict

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixHeaderChecks sends messages through a real Postfix whose
// header_checks are seed 000's (plus REJECT with text and DEFER) and
// compares the end-of-data reply with CheckHeaders.
func TestPostfixHeaderChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	hc := writeFile(t, dir, "header_checks", `/^Received: from .*spam-net.com/ REJECT
/^Received: from .*dsl.spam-net.co.jp/ REJECT 
/^Subject: .*lottery/ REJECT 5.7.0 no lotteries here
/^X-Later:/ DEFER come back later
/^X-Hold:/ HOLD
/^X-Drop:/ DISCARD
`)
	mainCF := `myhostname = ms.example.jp
mydomain = example.jp
myorigin = $mydomain
mynetworks = 127.0.0.0/8
mydestination = $mydomain, $myhostname, localhost.$mydomain, localhost
local_recipient_maps =
header_checks = regexp:` + hc + `
`
	addr := testutil.StartPostfix(t, mainCF)
	params, err := ParseMainCF(strings.NewReader(mainCF))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(params, WithResolver(noDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	messages := [][]HeaderLine{
		{{Name: "Received", Value: "from mail.spam-net.com (mail.spam-net.com [192.0.2.1])\n\tby ms.example.jp"}, {Name: "Subject", Value: "hi"}},
		{{Name: "Received", Value: "from a.dsl.spam-net.co.jp ([192.0.2.2])"}},
		{{Name: "Received", Value: "from good.example ([192.0.2.3])"}, {Name: "Subject", Value: "hello"}},
		{{Name: "Subject", Value: "you won the lottery"}},
		{{Name: "X-Later", Value: "yes"}}, // DEFER is not a cleanup action: accepted
		{{Name: "X-Hold", Value: "yes"}},
		{{Name: "X-Drop", Value: "yes"}},
	}
	for _, hdrs := range messages {
		got := postfixSendMessage(t, addr, hdrs)
		d, err := p.CheckHeaders(context.Background(), hdrs)
		if err != nil {
			t.Fatal(err)
		}
		want := "250"
		if d.Refused() {
			want = d.String()
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("headers %q: Postfix %q, yubin %q", hdrs, got, want)
		}
	}
}

// postfixSendMessage sends one message with the given header and
// returns the reply to the end of DATA.
func postfixSendMessage(t *testing.T, addr string, hdrs []HeaderLine) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	send := func(cmd string) string {
		if cmd != "" {
			fmt.Fprintf(conn, "%s\r\n", cmd)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if len(line) < 4 || line[3] != '-' {
				return line
			}
		}
	}
	send("")
	send("HELO client.example.jp")
	send("MAIL FROM:<a@example.jp>")
	if r := send("RCPT TO:<b@example.jp>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("RCPT: %s", r)
	}
	if r := send("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %s", r)
	}
	var msg strings.Builder
	for _, h := range hdrs {
		msg.WriteString(strings.ReplaceAll(h.String(), "\n", "\r\n") + "\r\n")
	}
	msg.WriteString("\r\nbody\r\n.")
	got := send(msg.String())
	send("QUIT")
	return got
}
