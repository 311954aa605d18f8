package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The fullserver part of the abuse suite: the binary on its defaults
// (ports aside), attacked from one address.

// greets dials addr (a unix socket when it starts with "/") and reports
// the first line the server sends, over TLS when tlsOn.
func greets(addr string, tlsOn bool) (string, error) {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	c, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if tlsOn {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return "", err
		}
		c = tc
	}
	return bufio.NewReader(c).ReadString('\n')
}

// TestAbuseSMTPFullserverLimits: the tarpit settings of main.cf reach
// the fullserver's SMTP listeners without any wiring of their own (they
// come through the restrictions' parameters): eight unknown commands
// with smtpd_hard_error_limit = 3 get three replies and 421, NOOPs with
// smtpd_junk_command_limit = 5 are cut off after nine, and commands
// pipelined after EHLO are refused (smtpd_forbid_unauth_pipelining,
// yes by default as in Postfix 3.9).
func TestAbuseSMTPFullserverLimits(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "smtpd_hard_error_limit = 3\nsmtpd_junk_command_limit = 5\n")
	in.start()
	session := func(script []string) []string {
		c, err := net.DialTimeout("tcp", in.addr("smtp"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		var codes []string
		for _, cmd := range script {
			if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
				break
			}
			l, err := r.ReadString('\n')
			if err != nil {
				codes = append(codes, "EOF")
				break
			}
			codes = append(codes, l[:3])
			if l[:3] == "421" {
				if _, err := r.ReadString('\n'); err == nil {
					t.Error("session goes on after 421")
				}
				break
			}
		}
		return codes
	}
	unknown := make([]string, 8)
	for i := range unknown {
		unknown[i] = "XYZZY"
	}
	if got := strings.Join(session(unknown), " "); got != "500 500 500 421" {
		t.Errorf("unknown commands: %s", got)
	}
	noops := make([]string, 50)
	for i := range noops {
		noops[i] = "NOOP"
	}
	if got := strings.Join(session(noops), " "); got != "250 250 250 250 250 250 250 250 250 421" {
		t.Errorf("NOOPs: %s", got)
	}
	if got := strings.Join(session([]string{"EHLO x\r\nMAIL FROM:<a@example.org>"}), " "); got != "554" {
		t.Errorf("pipelined after EHLO: %s", got)
	}
}

// TestAbuseConnectionFloodFullserver: with a descriptor limit of 256,
// connections from one address to the SMTP and IMAP listeners until no
// more are accepted; once the attacker lets go, every listener answers
// again, and memory stayed bounded.
func TestAbuseConnectionFloodFullserver(t *testing.T) {
	t.Parallel()
	// Fails without internal/serve's back-off on EMFILE and ENFILE (the
	// IMAP and POP3 listeners then stay closed).
	prlimit := testutil.RequireBinary(t, "prlimit")
	in := newInstance(t, "")
	in.wrap = []string{prlimit, "--nofile=256:256"}
	in.start()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, svc := range []string{"smtp", "imap", "pop3"} {
		for range 150 {
			c, err := net.DialTimeout("tcp", in.addr(svc), time.Second)
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the server run out
	if rss := testutil.ProcRSSKiB(in.cmd.Process.Pid); rss > 256<<10 {
		t.Errorf("server resident memory %d MiB", rss>>10)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	lmtpSock := in.data + "/lmtp.sock"
	for _, tc := range []struct {
		svc, addr, want string
		tls             bool
	}{
		{"smtp", in.addr("smtp"), "220 ", false},
		{"submission", in.addr("submission"), "220 ", false},
		{"submissions", in.addr("submissions"), "220 ", true},
		{"imap", in.addr("imap"), "* OK", false},
		{"imaps", in.addr("imaps"), "* OK", true},
		{"pop3", in.addr("pop3"), "+OK", false},
		{"pop3s", in.addr("pop3s"), "+OK", true},
		{"lmtp", lmtpSock, "220 ", false},
	} {
		var got string
		var err error
		// The listeners back off for up to a second after running out.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got, err = greets(tc.addr, tc.tls); err == nil && strings.HasPrefix(got, tc.want) {
				break
			}
		}
		if err != nil || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s after the flood: %q %v", tc.svc, got, err)
		}
	}
}
