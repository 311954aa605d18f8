package smtp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/yubinmail/yubin/smtp"
)

// A port 25 server that hands every accepted message to a function.
func Example() {
	srv := &smtp.Server{
		Hostname: "mx.example.jp",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
			n, err := io.Copy(io.Discard, msg) // store it durably here
			fmt.Printf("from=<%s> to=%d bytes>0:%v\n", env.From, len(env.To), n > 0)
			return err
		}),
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	c, err := smtp.Dial(context.Background(), l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.Hello(context.Background(), "client.example.org"); err != nil {
		fmt.Println(err)
		return
	}
	err = c.SendMail(context.Background(), "a@example.org", []string{"b@example.jp"},
		strings.NewReader("Subject: hello\r\n\r\nHi.\r\n"))
	fmt.Println(err)
	// Output:
	// from=<a@example.org> to=1 bytes>0:true
	// <nil>
}
