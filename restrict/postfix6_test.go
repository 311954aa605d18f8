package restrict

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// policyServer is a check_policy_service server on 127.0.0.1 answering by
// the recipient's local part, recording each request.
type policyServer struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []map[string]string
}

func startPolicyServer(t testing.TB) *policyServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &policyServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go ps.serve(c)
		}
	}()
	return ps
}

func (ps *policyServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req := map[string]string{}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				break
			}
			k, v, _ := strings.Cut(line, "=")
			req[k] = v
		}
		ps.mu.Lock()
		ps.reqs = append(ps.reqs, req)
		ps.mu.Unlock()
		local, _, _ := strings.Cut(req["recipient"], "@")
		var reply string
		switch local {
		case "reject":
			reply = "action=REJECT policy says no\n\n"
		case "rejectbare":
			reply = "action=reject\n\n"
		case "greylist":
			reply = "action=DEFER_IF_PERMIT greylisted, try again\n\n"
		case "ok":
			reply = "action=OK\n\n"
		case "code":
			reply = "action=550 5.7.0 custom refusal\n\n"
		case "dunno":
			reply = "action=dunno\n\n"
		case "list":
			reply = "action=reject_unauth_destination\n\n"
		case "prepend":
			reply = "action=PREPEND X-Policy: seen\n\n"
		case "noaction":
			reply = "other=thing\n\n"
		case "close":
			return
		default:
			reply = "action=DUNNO\n\n"
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			return
		}
	}
}

func (ps *policyServer) requests() []map[string]string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return slices.Clone(ps.reqs)
}

// TestPostfixPolicyService compares check_policy_service with a real
// Postfix smtpd using the same policy server: the RCPT replies for each
// kind of action (including no action and a dropped connection, which
// fall back to smtpd_policy_service_default_action), and the request
// attributes both send. (A reply without an action leaves Postfix 3.7's
// connection out of step: later queries fail too; yubin drops nothing and
// applies default_action to that query only. See TestPolicyServiceLimits.)
func TestPostfixPolicyService(t *testing.T) {
	t.Parallel()
	ps := startPolicyServer(t)
	mainCF := `myhostname = mx.example.jp
mydomain = example.jp
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 10.99.0.0/16
local_recipient_maps =
smtpd_recipient_restrictions = check_policy_service inet:` + ps.ln.Addr().String() + `, reject_unauth_destination
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
`
	addr, p := startPostfixAndPolicy(t, mainCF)
	rcpts := []string{"reject@example.jp", "rejectbare@example.jp", "greylist@example.jp", "ok@elsewhere.example",
		"code@example.jp", "dunno@example.jp", "dunno@elsewhere.example", "list@example.jp", "list@elsewhere.example",
		"prepend@example.jp", "close@example.jp", "user@example.jp"}
	got := smtpProbe(t, addr, "client.example.org", "sender@example.org", rcpts)
	postfixReqs := ps.requests()
	for i, rcpt := range rcpts {
		d, err := p.Check(context.Background(), StageRecipient, &Request{
			ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientName: "unknown",
			Helo: "client.example.org", Sender: "sender@example.org", Recipient: rcpt, RecipientCount: i,
		})
		if err != nil {
			t.Fatalf("%s: %v", rcpt, err)
		}
		want := "250 2.1.5 Ok"
		if d.Refused() {
			want = d.String()
		}
		if got[i] != want {
			t.Errorf("RCPT <%s>: Postfix %q, yubin %q", rcpt, got[i], want)
		}
	}
	ours := ps.requests()[len(postfixReqs):]
	if len(postfixReqs) == 0 || len(ours) == 0 {
		t.Fatalf("policy server saw %d Postfix and %d yubin requests", len(postfixReqs), len(ours))
	}
	// Every attribute Postfix sends is sent, with the same value for
	// those a Request carries.
	pf, me := postfixReqs[0], ours[0]
	for k := range pf {
		if _, ok := me[k]; !ok && k != "mail_version" {
			t.Errorf("attribute %s=%q not sent", k, pf[k])
		}
	}
	for _, k := range []string{"request", "protocol_state", "protocol_name", "client_address", "client_name",
		"reverse_client_name", "helo_name", "sender", "recipient", "recipient_count", "sasl_username", "size",
		"policy_context", "compatibility_level", "ccert_subject", "encryption_protocol", "etrn_domain"} {
		if pf[k] != me[k] {
			t.Errorf("attribute %s: Postfix %q, yubin %q", k, pf[k], me[k])
		}
	}
}

// TestPolicyServiceLimits: a reply without an action, a reply line
// over the limit and an unreachable server fall back to default_action
// (per-service settings in braces override the smtpd_policy_service_*
// parameters); connections are reused.
func TestPolicyServiceLimits(t *testing.T) {
	ps := startPolicyServer(t)
	long, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	go func() {
		for {
			c, err := long.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("action=REJECT " + strings.Repeat("x", 10000) + "\n\n"))
			}()
		}
	}()
	deadAddr := testutil.RefusedAddr(t) // refused for the whole test
	var dials int
	var mu sync.Mutex
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	p, err := New(Params{
		"mydestination":                    "example.jp",
		"local_recipient_maps":             "",
		"smtpd_policy_service_retry_delay": "0",
		"smtpd_restriction_classes":        "longreply, deadserver",
		"longreply":                        "check_policy_service inet:" + long.Addr().String(),
		"deadserver":                       "check_policy_service { inet:" + deadAddr + ", timeout=2s, default_action=DEFER_IF_PERMIT policy server down, try_limit=1 }",
		"smtpd_recipient_restrictions": "check_recipient_access inline:{ long@example.jp=longreply, dead@example.jp=deadserver }, " +
			"check_policy_service inet:" + ps.ln.Addr().String() + ", reject_unauth_destination",
	}, WithResolver(noDNS{}), WithPolicyDialer(dial))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rcpt, want string }{
		{"noaction@example.jp", "451 4.3.5 <noaction@example.jp>: Recipient address rejected: Server configuration problem"},
		{"user@example.jp", "DUNNO"},
		{"reject@example.jp", "554 5.7.1 <reject@example.jp>: Recipient address rejected: policy says no"},
		{"long@example.jp", "451 4.3.5 <long@example.jp>: Recipient address rejected: Server configuration problem"},
		{"dead@example.jp", "450 4.7.1 <dead@example.jp>: Recipient address rejected: policy server down"},
		{"user@example.jp", "DUNNO"},
	} {
		req := rcptReq("198.51.100.1", "client.example.org", "a@example.org", c.rcpt)
		if got := mustCheck(t, p, StageRecipient, req).String(); got != c.want {
			t.Errorf("%s: got %q want %q", c.rcpt, got, c.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// One connection to the good server (reused for its 5 queries: the
	// dead server's DEFER_IF_PERMIT lets the list continue), two tries to
	// the long-reply server, one to the dead one.
	if dials != 4 {
		t.Errorf("%d dials, want 4", dials)
	}
	if n := len(ps.requests()); n != 5 {
		t.Errorf("policy server saw %d requests, want 5", n)
	}
}
