package restrict

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// replayConn is a net.Conn that discards writes and reads a fixed reply.
type replayConn struct {
	net.Conn // nil: only the methods below are used
	r        *bytes.Reader
}

func (c *replayConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *replayConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzPolicyReply feeds arbitrary policy server replies to the client and
// applies the action: errors and default actions are fine, panics and
// replies outside 4xx/5xx are not. It also parses the service argument.
func FuzzPolicyReply(f *testing.F) {
	f.Add("action=REJECT no\n\n", "inet:127.0.0.1:1")
	f.Add("action=DEFER_IF_PERMIT x\nother=1\n\n", "{ inet:127.0.0.1:1, timeout = 1s, default_action=DUNNO }")
	f.Add("action=reject_unauth_destination, reject_non_fqdn_sender\n\n", "unix:private/policy")
	f.Add("action=550 5.1.1 user\r\n\r\n", "inet:[::1]:10023")
	f.Add("action\n\n", "inet::1")
	f.Add(strings.Repeat("a=b\n", 200), "unix:/x policy_context=a b c")
	f.Fuzz(func(t *testing.T, reply, arg string) {
		dial := func(context.Context, string, string) (net.Conn, error) {
			return &replayConn{r: bytes.NewReader([]byte(reply))}, nil
		}
		p, err := New(Params{
			"mydestination":                  "example.jp",
			"local_recipient_maps":           "",
			"smtpd_policy_service_try_limit": "1",
			"smtpd_recipient_restrictions":   "check_policy_service inet:127.0.0.1:1, reject_unauth_destination",
		}, WithResolver(noDNS{}), WithPolicyDialer(dial))
		if err != nil {
			t.Fatal(err)
		}
		p.newPolicyClient(arg)
		d, _ := p.Check(context.Background(), StageRecipient, rcptReq("192.0.2.1", "h.example", "a@example.org", "b@example.jp"))
		if d.Refused() && (d.Code < 400 || d.Code > 599 || !validDSN(d.Enhanced)) {
			t.Fatalf("bad reply %q", d)
		}
	})
}
