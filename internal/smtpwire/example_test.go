package smtpwire_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// miniServer answers one SMTP session with fixed replies; it refuses
// RCPT TO:<nobody@...>.
func miniServer(l net.Listener) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	smtpwire.WriteReply(w, 220, "", "mx.example.jp ESMTP")
	w.Flush()
	for {
		line, err := smtpwire.ReadLine(r, 0)
		if err != nil {
			return
		}
		cmd := strings.ToUpper(string(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			smtpwire.WriteReply(w, 250, "", "mx.example.jp\nPIPELINING\nDSN")
		case strings.HasPrefix(cmd, "RCPT TO:<NOBODY@"):
			smtpwire.WriteReply(w, 550, "5.1.1", "<nobody@example.jp>: Recipient address rejected")
		case cmd == "DATA":
			smtpwire.WriteReply(w, 354, "", "End data with <CR><LF>.<CR><LF>")
			w.Flush()
			d := smtpwire.NewDataReader(r)
			d.Discard()
			smtpwire.WriteReply(w, 250, "2.0.0", "Ok: queued as 4XyZ")
		case cmd == "QUIT":
			smtpwire.WriteReply(w, 221, "2.0.0", "Bye")
			w.Flush()
			return
		default:
			smtpwire.WriteReply(w, 250, "2.0.0", "Ok")
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

func ExampleClient() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go miniServer(l)

	ctx := context.Background()
	conn, err := smtpwire.Dial(ctx, "tcp", l.Addr().String(), smtpwire.PostfixTimeouts(), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := smtpwire.NewClient(conn, "mx.example.jp", false)
	c.Timeouts = smtpwire.PostfixTimeouts()
	c.Timeouts.Rcpt = 10 * time.Second
	if err := c.Greet(ctx); err != nil {
		fmt.Println(err)
		return
	}
	c.Hello(ctx, "client.example.org")
	res, err := c.Send(ctx, "a@example.org", []smtpwire.Recipient{
		{Addr: "b@example.jp", Opts: smtpwire.RcptOptions{Notify: "FAILURE"}},
		{Addr: "nobody@example.jp"},
		{Addr: "c@example.jp\r\nRSET"},
	}, nil, strings.NewReader("Subject: hi\n\n.\n"))
	fmt.Println(err, res.Reply)
	for _, e := range res.Rcpt {
		var fe *smtpwire.FieldError
		switch {
		case errors.As(e, &fe):
			fmt.Println("not sent:", fe.Field)
		default:
			fmt.Println(e)
		}
	}
	c.Quit(ctx)
	// Output:
	// <nil> Ok: queued as 4XyZ
	// <nil>
	// 550 5.1.1 <nobody@example.jp>: Recipient address rejected
	// not sent: recipient address
}
