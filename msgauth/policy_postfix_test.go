package msgauth

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

// TestPostfixPolicyServiceSPF: the real Postfix smtpd, configured with
// "check_policy_service unix:/path" as for policyd-spf, asks yubin's
// PolicyServer on a unix socket: a sender whose SPF policy (served by
// nsd) fails the client is refused at RCPT with 550 5.7.23, one whose
// policy passes is accepted.
func TestPostfixPolicyServiceSPF(t *testing.T) {
	t.Parallel()
	soa := "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
	ns := testutil.StartNSD(t, map[string]string{
		"fail.test.": soa + "@ TXT \"v=spf1 ip4:192.0.2.1 -all\"\n",
		"pass.test.": soa + "@ TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n",
	})
	dir := testutil.SharedDir(t)
	sock := filepath.Join(dir, "policyd-spf")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Chmod(sock, 0o666)
	ps := &PolicyServer{Verifier: &Verifier{Resolver: ns.Resolver()}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go ps.ServeConn(ctx, c)
		}
	}()
	pf := testutil.StartSMTPPostfix(t, "smtpd_recipient_restrictions = check_policy_service unix:"+sock+", permit_mynetworks, reject\n"+
		"smtpd_relay_restrictions = permit_mynetworks, reject\nrelay_domains = example.org\nrelay_transport = discard:\n")
	c, err := net.DialTimeout("tcp", pf.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string {
		var all string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("postfix: %v (so far %q)", err, all)
			}
			all += line
			if len(line) < 4 || line[3] != '-' {
				return strings.TrimSpace(all)
			}
		}
	}
	cmd := func(s string) string {
		fmt.Fprintf(c, "%s\r\n", s)
		return reply()
	}
	reply()
	cmd("EHLO client.pass.test")
	if r := cmd("MAIL FROM:<ceo@fail.test>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("MAIL: %s", r)
	}
	if r := cmd("RCPT TO:<bob@example.org>"); !strings.HasPrefix(r, "550 5.7.23") || !strings.Contains(r, "SPF fail") {
		t.Fatalf("RCPT for an SPF fail: %s\n%s", r, pf.Log())
	}
	cmd("RSET")
	cmd("MAIL FROM:<news@pass.test>")
	if r := cmd("RCPT TO:<bob@example.org>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("RCPT for an SPF pass: %s\n%s", r, pf.Log())
	}
	cmd("QUIT")
}
