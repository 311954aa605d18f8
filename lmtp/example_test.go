package lmtp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/yubinmail/yubin/lmtp"
)

// printDeliverer accepts every recipient and prints what it would store.
type printDeliverer struct{}

func (printDeliverer) Rcpt(ctx context.Context, env *lmtp.Envelope, rcpt string) error {
	if strings.HasPrefix(rcpt, "nobody@") {
		return &lmtp.Error{Code: 550, Enhanced: lmtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + "> User doesn't exist: " + rcpt}
	}
	return nil
}

func (printDeliverer) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	b, err := io.ReadAll(msg)
	fmt.Printf("%s: %q\n", rcpt, strings.SplitN(string(b), "\r\n", 3)[:2])
	return err
}

func Example() {
	srv := &lmtp.Server{Hostname: "mail.example.jp", Deliverer: printDeliverer{}, NoReceivedHeader: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, err := lmtp.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Hello(ctx, "mx.example.jp")
	res, err := c.Send(ctx, "sender@example.org", []string{"alice@example.jp", "nobody@example.jp"},
		strings.NewReader("Subject: hi\r\n\r\nHello.\r\n"))
	fmt.Println(res[1], err)
	c.Quit(ctx)
	// Output:
	// alice@example.jp: ["Return-Path: <sender@example.org>" "Delivered-To: alice@example.jp"]
	// 550 5.1.1 <nobody@example.jp> User doesn't exist: nobody@example.jp <nil>
}
