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

// TestPostfixClientDSNAndContent: yubin's client hands a message to the
// real Postfix smtpd, which checks the DSN parameters' xtext strictly,
// and Postfix relays it to yubin's server: ENVID, RET, NOTIFY and ORCPT
// arrive as sent, and content with bare CR, bare LF and end-of-data
// look-alikes arrives whole as CRLF lines.
func TestPostfixClientDSNAndContent(t *testing.T) {
	k := &sink{}
	addr, _ := startServer(t, &Server{Hostname: "mx.example.jp", NoReceivedHeader: true, Backend: DataFunc(k.Data)}, nil)
	_, yport, _ := net.SplitHostPort(addr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf("relayhost = [127.0.0.1]:%s\n", yport))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := (&Dialer{Timeouts: PostfixTimeouts()}).Dial(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	if !c.Extensions().Has(ExtDSN) {
		t.Fatalf("Postfix offers no DSN: %b", c.Extensions())
	}
	body := "From: a@example.jp\nSubject: dsn\n\nbare LF\nbare CR\rsmuggle\r.\rRSET\n.\nMAIL FROM:<evil@example.org>\r\n.\r\nend\n"
	res, err := c.Send(ctx, "a@example.jp", []Recipient{
		{Addr: "b+x@remote.example", Opts: RcptOptions{Notify: "success,failure", ORcpt: "rfc822;" + EncodeXtext("b+x@remote.example")}},
	}, &MailOptions{Ret: "hdrs", EnvID: EncodeXtext("QQ+314 id")}, strings.NewReader(body))
	if err != nil || res.Rcpt[0] != nil {
		t.Fatalf("Send = %+v, %v\n%s", res, err, p.Log())
	}
	c.Quit(ctx)
	p.WaitLog(t, "status=sent (250 2.0.0 Ok: queued as", 20*time.Second)
	msgs := k.list()
	if len(msgs) != 1 {
		t.Fatalf("%d delivered\n%s", len(msgs), p.Log())
	}
	env := msgs[0].env
	if env.MailOpts.EnvID != "QQ+2B314+20id" || env.MailOpts.Ret != "HDRS" || len(env.To) != 1 ||
		env.To[0].Opts.Notify != "SUCCESS,FAILURE" || env.To[0].Opts.ORcpt != "rfc822;b+2Bx@remote.example" {
		t.Fatalf("envelope after Postfix: %+v %+v", env.MailOpts, env.To)
	}
	want := "\r\n\r\nbare LF\r\nbare CR\r\nsmuggle\r\n.\r\nRSET\r\n.\r\nMAIL FROM:<evil@example.org>\r\n.\r\nend\r\n"
	if got := string(msgs[0].data); !strings.HasSuffix(got, want) {
		t.Fatalf("content after Postfix: %q", got)
	}
	if strings.Contains(p.Log(), "evil@example.org") {
		t.Fatalf("Postfix saw the smuggled MAIL:\n%s", p.Log())
	}
}
