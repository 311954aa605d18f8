package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
)

// How a final address is delivered, from the transport restrict resolved
// for it (mailbox_transport, local_transport, virtual_transport,
// transport_maps).
const (
	viaStore = iota // in-process into the store (Postfix's local, virtual)
	viaLMTP         // lmtp:unix:/path, lmtp:inet:host:port
	viaError        // error:text
	viaRelay        // anything else: needs the outbound queue
)

func deliveryKind(t restrict.Target) int {
	switch t.Transport {
	case "local", "virtual", "":
		if t.Class == restrict.ClassLocal || t.Class == restrict.ClassVirtualMailbox {
			return viaStore
		}
	case "lmtp":
		return viaLMTP
	case "error":
		return viaError
	}
	return viaRelay
}

// checkTransport is the configuration check of mailbox_transport,
// local_transport and virtual_transport: what this host can deliver with.
func checkTransport(v string) error {
	t, next, _ := strings.Cut(strings.TrimSpace(v), ":")
	switch t {
	case "", "local", "virtual", "error":
		return nil
	case "lmtp":
		_, _, err := lmtp.ParseNexthop(next, "/")
		return err
	}
	return fmt.Errorf("transport %q is not supported (want lmtp:unix:/path, lmtp:inet:host:port, local or virtual)", t)
}

// deliverLMTP hands one message to an LMTP server for the given
// recipients in one transaction and returns a result per recipient (nil
// for delivered). A failure of the whole transaction is returned as the
// result of every recipient.
func (h *host) deliverLMTP(ctx context.Context, nexthop, from string, to []string, msg func() io.Reader) []error {
	all := func(err error) []error {
		res := make([]error, len(to))
		for i := range res {
			res[i] = err
		}
		return res
	}
	cfg := h.config()
	network, addr, err := lmtp.ParseNexthop(nexthop, cfg.Get("data_directory"))
	if err != nil {
		return all(err)
	}
	dctx, cancel := ctx, context.CancelFunc(func() {})
	if d := cfg.Duration("lmtp_connect_timeout"); d > 0 { // 0: the system's limit, as in Postfix
		dctx, cancel = context.WithTimeout(ctx, d)
	}
	c, err := lmtp.Dial(dctx, network, addr)
	cancel()
	if err != nil {
		return all(fmt.Errorf("connect to %s: %w", addr, err))
	}
	defer c.Close()
	c.Timeout = cfg.Duration("lmtp_data_done_timeout")
	if err := c.Hello(ctx, cfg.Get("myhostname")); err != nil {
		return all(err)
	}
	res, err := c.Send(ctx, from, to, msg())
	if res == nil {
		// Nothing is known about any recipient (connection lost, MAIL
		// refused): the whole transaction failed.
		return all(err)
	}
	if err != nil {
		// Recipients accepted at RCPT but not delivered (DATA refused).
		for i := range res {
			if res[i] == nil {
				res[i] = err
			}
		}
		return res
	}
	c.Quit(ctx)
	return res
}

// replyFor turns a failed delivery of target (reached through the SMTP
// recipient orig) into the SMTP reply. An LMTP server's own reply code
// and enhanced code go through; its text only when it concerns the
// recipient the client named (an alias's members stay private). Other
// errors give a generic temporary failure: no Go error text on the wire.
func replyFor(err error, orig, target string) *smtp.Error {
	var le *lmtp.Error
	if errors.As(err, &le) && le.Code >= 400 && le.Code < 600 {
		e := &smtp.Error{Code: le.Code, Enhanced: parseEnhanced(le.Enhanced.String(), le.Code)}
		text := strings.Join(strings.Fields(le.Message), " ")
		if len(text) > 200 {
			text = text[:200]
		}
		if strings.EqualFold(orig, target) && text != "" {
			e.Message = text
		} else if le.Code >= 500 {
			e.Message = "<" + orig + ">: Recipient address rejected: delivery failed"
		} else {
			e.Message = "<" + orig + ">: delivery temporarily failed, try again later"
		}
		return e
	}
	var se *smtp.Error
	if errors.As(err, &se) {
		return se
	}
	return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "Error: delivery failed, try again later"}
}

// parseEnhanced reads "5.1.1"; a missing or malformed one becomes the
// generic X.0.0 of the reply's class.
func parseEnhanced(s string, code int) smtp.Enhanced {
	var e smtp.Enhanced
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 999 {
				ok = false
				break
			}
			e[i] = n
		}
		if ok && (e[0] == 4 || e[0] == 5) && e[0] == code/100 {
			return e
		}
	}
	return smtp.Enhanced{code / 100, 0, 0}
}

// worstReply picks the one DATA reply for several recipients' results:
// nil when all were delivered, else a temporary failure when any failure
// was temporary (the client retries; nothing is lost), else the first
// permanent one. SMTP has a single reply after DATA; a host without a
// queue cannot accept the message and bounce one recipient later.
func worstReply(errs []*smtp.Error) *smtp.Error {
	var perm *smtp.Error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if e.Code < 500 {
			return e
		}
		if perm == nil {
			perm = e
		}
	}
	return perm
}
