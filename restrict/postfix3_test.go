package restrict

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixNoDelayReject compares the HELO and MAIL FROM replies of a
// real Postfix smtpd with smtpd_delay_reject = no against Check at
// StageHelo and StageSender.
func TestPostfixNoDelayReject(t *testing.T) {
	t.Parallel()
	mainCF := `myhostname = mx.example.jp
mydomain = example.jp
mynetworks = 10.99.0.0/16
smtpd_delay_reject = no
smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, check_helo_access inline:{ { evil.example = REJECT go away } }
smtpd_sender_restrictions = reject_non_fqdn_sender, check_sender_access inline:{ { spam.example = 550 5.7.0 no spam } }
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
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
	ours := func(stage Stage, req *Request, ok string) string {
		req.ClientAddr, req.ClientName = netip.MustParseAddr("127.0.0.1"), "unknown"
		d, err := p.Check(context.Background(), stage, req)
		if err != nil {
			t.Fatal(err)
		}
		if d.Refused() {
			return d.String()
		}
		return ok
	}
	n := 0
	for _, h := range []string{"bad_helo!", "localhost", "sub.evil.example", "[1.2.3.999]", "ok.example.org"} {
		got := send("HELO " + h)
		want := ours(StageHelo, &Request{Helo: h}, "250 mx.example.jp")
		if got != want {
			t.Errorf("HELO %s: Postfix %q, yubin %q", h, got, want)
		}
		n++
	}
	for _, s := range []string{"user", "a@spam.example", "a@ok.example"} {
		got := send("MAIL FROM:<" + s + ">")
		want := ours(StageSender, &Request{Helo: "ok.example.org", Sender: s}, "250 2.1.0 Ok")
		if got != want {
			t.Errorf("MAIL FROM:<%s>: Postfix %q, yubin %q", s, got, want)
		}
		if strings.HasPrefix(got, "250") {
			send("RSET")
		}
		n++
	}
	send("QUIT")
	t.Logf("%d HELO/MAIL decisions compared with Postfix", n)
}
