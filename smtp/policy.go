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
// proceed. When Check returns an error (a table lookup failed, the
// configuration is unusable) the error is logged and the Decision that
// came with it is sent when it carries a code ("451 4.3.0 <x>: Temporary
// lookup failure", as Postfix answers); without a code the reply is
// "451 4.3.5 Server configuration error".
//
// By default (Postfix's smtpd_delay_reject = yes) a refusal at connect,
// HELO or MAIL is remembered and sent in answer to each RCPT TO, so the
// log shows the recipient; with Server.NoDelayReject it is sent at once.
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
		Pipelined:      ss.illPipe,
	}
	req.ClientAddr = ss.addr
	if ss.from != nil {
		req.Sender = *ss.from
	}
	return req
}

// checkPolicy asks the Policy; refused reports a Reject or Defer (or a
// policy failure: the decision returned with the error when it has a
// code, else 451 4.3.5).
func (ss *session) checkPolicy(stage restrict.Stage, rcpt string) (restrict.Decision, bool) {
	p := ss.srv.Policy
	if p == nil {
		return restrict.Decision{}, false
	}
	d, err := p.Check(ss.ctx, stage, ss.request(rcpt))
	if err != nil {
		ss.srv.logger().Error("warning: restriction check failed: "+err.Error(), "service", ss.info.Service)
		if d.Code == 0 {
			return restrict.Decision{Action: restrict.Defer, Code: 451, Enhanced: "4.3.5", Text: "Server configuration error"}, true
		}
		if d.Action != restrict.Reject && d.Action != restrict.Defer {
			d.Action = restrict.Reject
			if d.Code < 500 {
				d.Action = restrict.Defer
			}
		}
		return d, true
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
	ss.noteActions(stage, d)
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

// RateLimiter enforces per-client limits the way Postfix's anvil(8)
// does for smtpd: concurrent connections and connection rate at connect
// (a refusal is sent and the connection closed), and the rates of
// messages (MAIL), recipients (RCPT), AUTH commands and new TLS sessions
// (STARTTLS; a refusal ends the session). A Decision with a non-zero Code
// refuses; the function Connect returns is called when the connection
// ends. *restrict.Limiter satisfies it.
type RateLimiter interface {
	Connect(addr netip.Addr) (restrict.Decision, func())
	Message(addr netip.Addr) restrict.Decision
	Recipient(addr netip.Addr) restrict.Decision
	Auth(addr netip.Addr) restrict.Decision
	NewTLSSession(addr netip.Addr) restrict.Decision
}

// limited asks the Limiter about one event and sends its refusal.
// The caller checks that Server.Limiter is set.
func (ss *session) limited(event func(netip.Addr) restrict.Decision, what string) bool {
	d := event(ss.addr)
	if d.Code == 0 {
		return false
	}
	ss.srv.logger().Warn("warning: "+what+" rate limit exceeded from "+ss.clientStr+" for service "+ss.info.Service, "service", ss.info.Service)
	ss.replyDecision(d)
	return true
}

// policyParams returns the Policy's parameters when it has them (a
// *restrict.Policy), read as restrict reads them (defaults included).
func (s *Server) policyParams() (restrict.Params, bool) {
	pp, ok := s.Policy.(interface{ Params() restrict.Params })
	if !ok {
		return nil, false
	}
	return pp.Params(), true
}

// delayReject reports whether refusals before RCPT wait for RCPT:
// neither NoDelayReject nor the Policy's smtpd_delay_reject = no.
func (s *Server) delayReject() bool {
	if s.NoDelayReject {
		return false
	}
	p, ok := s.policyParams()
	return !ok || p.Bool("smtpd_delay_reject")
}

// heloRequired reports HeloRequired or the Policy's
// smtpd_helo_required = yes.
func (s *Server) heloRequired() bool {
	if s.HeloRequired {
		return true
	}
	p, ok := s.policyParams()
	return ok && p.Bool("smtpd_helo_required")
}
