package smtp

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixRelayInto has the real Postfix 3.7 relay into yubin's SMTP
// server (relayhost) with STARTTLS required on its side; the mail is
// handed to Postfix by yubin's own client. It checks what arrives and
// the lines both sides log.
func TestPostfixRelayInto(t *testing.T) {
	f := testutil.NewTLS(t)
	k := &sink{}
	s := NewMTA("mx.example.jp", f.ServerConfig(), nil, DataFunc(k.Data))
	s.TLSReceivedHeader = true
	addr, logs := startServer(t, s, nil)
	_, yport, _ := net.SplitHostPort(addr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf(`relayhost = [127.0.0.1]:%s
smtp_tls_security_level = encrypt
smtp_tls_CAfile = %s
smtp_tls_loglevel = 1
`, yport, f.CertFile))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789abcdef\r\n", 20000) // 360 KB
	body := "From: a@example.jp\r\nSubject: relayed by postfix\r\n\r\n.dot\r\n" + big
	if err := c.SendMail(ctx, "a@example.jp", []string{"x@remote.example", "y@remote.example"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	p.WaitLog(t, "status=sent (250 2.0.0 Ok: queued as", 20*time.Second)
	msgs := k.list()
	if len(msgs) != 1 {
		t.Fatalf("%d delivered\n%s", len(msgs), p.Log())
	}
	m := msgs[0]
	if m.env.From != "a@example.jp" || len(m.env.To) != 2 || m.env.Conn.TLS == nil || m.env.Conn.Helo != "postfix.example.test" {
		t.Fatalf("envelope %+v", m.env)
	}
	data := string(m.data)
	if !strings.HasPrefix(data, "Received: from postfix.example.test (unknown [127.0.0.1])\r\n\t(using TLSv1.3 with cipher ") ||
		!strings.Contains(data, "by mx.example.jp with ESMTPS id ") || !strings.Contains(data, "\r\n.dot\r\n"+big) {
		t.Fatalf("data %q...", data[:400])
	}
	if !strings.Contains(p.Log(), "Trusted TLS connection established to 127.0.0.1") {
		t.Errorf("postfix did not verify TLS:\n%s", p.Log())
	}
	logs.waitLog(t, m.env.QueueID+": client=unknown[127.0.0.1]")
}
