package smtp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/smtp"
)

// The two packages' errors are one type.
var _ *lmtp.Error = (*smtp.Error)(nil)
var _ lmtp.Enhanced = smtp.Enhanced{}

type refuseNobody struct{}

func (refuseNobody) Rcpt(ctx context.Context, env *lmtp.Envelope, rcpt string) error {
	if strings.HasPrefix(rcpt, "nobody@") {
		return &lmtp.Error{Code: 550, Enhanced: lmtp.Enhanced{5, 1, 1}, Message: "<" + rcpt + "> User doesn't exist"}
	}
	return nil
}

func (refuseNobody) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	_, err := io.Copy(io.Discard, msg)
	return err
}

// TestErrorsAsAcrossSMTPAndLMTP: errors.As with an *smtp.Error finds the
// reply in an lmtp.Client's error, and with an *lmtp.Error in an
// smtp.Client's.
func TestErrorsAsAcrossSMTPAndLMTP(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	ls := &lmtp.Server{Hostname: "lmtp.example.jp", Deliverer: refuseNobody{}, Logger: quiet}
	ll, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ls.Serve(ll)
	defer ls.Shutdown(ctx)
	lc, err := lmtp.Dial(ctx, "tcp", ll.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := lc.Hello(ctx, "mx.example.jp"); err != nil {
		t.Fatal(err)
	}
	res, err := lc.Send(ctx, "s@example.org", []string{"alice@example.jp", "nobody@example.jp"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	var se *smtp.Error
	if err != nil || res[0] != nil || !errors.As(res[1], &se) || se.Code != 550 || se.Enhanced != (smtp.Enhanced{5, 1, 1}) || se.Temporary() {
		t.Fatalf("lmtp result %v, %v; as smtp.Error %+v", res, err, se)
	}

	ss := &smtp.Server{Hostname: "mx.example.jp", Logger: quiet,
		Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
			io.Copy(io.Discard, msg)
			return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "try again"}
		})}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ss.Serve(sl)
	defer ss.Shutdown(ctx)
	sc, err := smtp.Dial(ctx, sl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Hello(ctx, "client.example.org"); err != nil {
		t.Fatal(err)
	}
	err = sc.SendMail(ctx, "a@example.org", []string{"b@example.jp"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	var le *lmtp.Error
	if !errors.As(err, &le) || le.Code != 451 || le.Enhanced != (lmtp.Enhanced{4, 3, 0}) || !le.Temporary() {
		t.Fatalf("smtp error %v as lmtp.Error %+v", err, le)
	}
	if got := le.Error(); got != "451 4.3.0 try again" {
		t.Fatalf("Error() = %q", got)
	}
}
