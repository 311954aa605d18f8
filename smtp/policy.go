package smtp

import (
	"context"
	"net/netip"

	"github.com/yubinmail/yubin/restrict"
)

// Policy is the restriction hook the server asks at every stage: the
// client at connect, HELO, MAIL, each RCPT, DATA and the end of data. A
// *restrict.Policy satisfies it. Reject and Defer decisions are sent
// with their code, enhanced code and text; Discard accepts the message
// and drops it; Warn only logs; Permit and Dunno let the command
// proceed. An error from Check is answered with
// "451 4.3.5 Server configuration error".
//
// With Server.DelayReject off (the default is Postfix's
// smtpd_delay_reject = yes, see Server.NoDelayReject) a refusal at
// connect, HELO or MAIL is sent at once; with it on, it is remembered
// and sent in answer to each RCPT TO, so the log shows the recipient.
type Policy interface {
	Check(ctx context.Context, stage restrict.Stage, req *restrict.Request) (restrict.Decision, error)
}

// The stages a Policy is asked at, as restrict names them.
const (
	StageConnect   = restrict.StageConnect
	StageHelo      = restrict.StageHelo
	StageSender    = restrict.StageSender
	StageRecipient = restrict.StageRecipient
	StageData      = restrict.StageData
	StageEndOfData = restrict.StageEndOfData
)

func (ss *session) request(rcpt string) *restrict.Request {
	req := &restrict.Request{
		ClientName:     ss.info.ClientName,
		Helo:           ss.info.Helo,
		Recipient:      rcpt,
		SASLUser:       ss.info.AuthUser,
		TLS:            ss.info.TLS != nil,
		RecipientCount: len(ss.rcpts),
		Size:           ss.mailOpts.Size,
		QueueID:        ss.queueID,
	}
	if ap, err := netip.ParseAddrPort(ss.info.RemoteAddr.String()); err == nil {
		req.ClientAddr = ap.Addr().Unmap()
	}
	if ss.from != nil {
		req.Sender = *ss.from
	}
	return req
}

// checkPolicy asks the Policy; refused reports a Reject or Defer (or a
// policy failure, turned into a 451 decision).
func (ss *session) checkPolicy(stage restrict.Stage, rcpt string) (restrict.Decision, bool) {
	p := ss.srv.Policy
	if p == nil {
		return restrict.Decision{}, false
	}
	d, err := p.Check(ss.ctx, stage, ss.request(rcpt))
	if err != nil {
		ss.srv.logger().Error("warning: restriction check failed: "+err.Error(), "service", ss.info.Service)
		return restrict.Decision{Action: restrict.Defer, Code: 451, Enhanced: "4.3.5", Text: "Server configuration error"}, true
	}
	for _, w := range d.Warnings {
		ss.srv.logger().Warn("warning: "+w, "service", ss.info.Service)
	}
	switch d.Action {
	case restrict.Reject, restrict.Defer:
		return d, true
	case restrict.Discard:
		ss.discard = true
	}
	return d, false
}

// replyDecision sends a refusal, with the defaults Postfix uses when a
// decision carries no code.
func (ss *session) replyDecision(d restrict.Decision) {
	code, enh, text := d.Code, d.Enhanced, d.Text
	if code == 0 {
		if d.Action == restrict.Defer {
			code, enh = 450, "4.7.1"
		} else {
			code, enh = 554, "5.7.1"
		}
	}
	if text == "" {
		text = "Access denied"
	}
	ss.reply(code, enh, text)
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(ctx context.Context, stage restrict.Stage, req *restrict.Request) (restrict.Decision, error)

// Check calls f.
func (f PolicyFunc) Check(ctx context.Context, stage restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
	return f(ctx, stage, req)
}
