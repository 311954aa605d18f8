package restrict

import (
	"context"
	"errors"
	"strings"
)

// Check evaluates the restrictions for stage against req and returns what
// Postfix would answer.
//
// With smtpd_delay_reject = yes (the default) StageConnect, StageHelo and
// StageSender return Dunno, and the client, helo and sender restrictions
// are evaluated at StageRecipient, before smtpd_relay_restrictions and
// smtpd_recipient_restrictions; a temporary DNS failure that Postfix
// answers with defer_if_permit turns an eventual permit into 450. A bare
// "postmaster" recipient is always accepted. After the restrictions,
// smtpd_reject_unlisted_recipient (default yes) checks that the recipient
// exists in its address class.
//
// Addresses that cannot be resolved at all, as smtpd finds before any
// restriction (an empty recipient, or a domain that is not a valid host
// name or address literal after address resolution: "user@192.0.2.1",
// "user@[127.1]", "user@"), are refused whatever smtpd_delay_reject
// says: a sender with "501 5.1.7 Bad sender address syntax" at
// StageSender, a recipient with "501 5.1.3 Bad recipient address
// syntax" at StageRecipient.
//
// At StageEndOfData, the header lines in req.Header are also checked
// against header_checks.
//
// A non-nil error means a table lookup failed or the configuration is
// unusable; the Decision then holds the temporary-failure reply Postfix
// sends ("451 4.3.0 <x>: Temporary lookup failure", "451 4.3.5 Server
// configuration error"). Go error text is never put in a Decision.
func (p *Policy) Check(ctx context.Context, stage Stage, req *Request) (Decision, error) {
	if req == nil {
		req = &Request{}
	}
	s := &state{p: p, ctx: ctx, req: req, stage: stage}
	if req.Helo != "" {
		s.helo = present(req.Helo)
	}
	delay := p.cfg.delayReject
	st := stDunno
	switch stage {
	case StageConnect:
		if !delay {
			st = s.run(p.client, s.namaddr(), nameClient, "check_client_access")
		}
	case StageHelo:
		if !delay && s.helo.set {
			st = s.run(p.helo, s.helo.val, nameHelo, "check_helo_access")
		}
	case StageSender:
		sender := internalAddr(req.Sender)
		s.sender = present(sender)
		if sender != "" && p.resolveAddr(ctx, s, sender).bad {
			return badSender, nil
		}
		if !delay {
			st = s.checkMail()
		}
	case StageRecipient:
		// Postfix checks (and quotes in replies) the internal form of the
		// addresses: source route dropped, quotes and escapes removed.
		sender, rcpt := internalAddr(req.Sender), internalAddr(req.Recipient)
		s.sender = present(sender)
		if rcpt == "" || p.resolveAddr(ctx, s, rcpt).bad {
			// smtpd refuses what trivial-rewrite cannot resolve before
			// any restriction (rcpt_cmd: smtpd_check_addr).
			return Decision{Action: Reject, Code: 501, Enhanced: "5.1.3", Text: "Bad recipient address syntax", Restriction: "address syntax"}, nil
		}
		if strings.EqualFold(rcpt, "postmaster") {
			return Decision{Action: Permit, Restriction: "postmaster"}, nil
		}
		if delay {
			if len(p.client.steps) > 0 {
				st = s.run(p.client, s.namaddr(), nameClient, "check_client_access")
			}
			if st != stReject && s.helo.set {
				st = s.run(p.helo, s.helo.val, nameHelo, "check_helo_access")
			}
			if st != stReject {
				st = s.checkMail()
			}
			if st == stReject {
				return s.decision(st)
			}
		}
		s.recipient = present(rcpt)
		st = s.run(p.relay, rcpt, nameRecipient, "check_recipient_access")
		if st != stReject {
			st = s.run(p.recipient, rcpt, nameRecipient, "check_recipient_access")
		}
		if st != stReject && s.deferIfPermit != nil {
			d := s.deferIfPermit
			s.deferIfPermit = nil
			st = s.rejectAbortSafe(d)
		}
		if st != stReject && p.cfg.rejectUnlistedRcpt && !s.rcptMapDone && !s.discard {
			if r := s.runFunc(func() status { return s.checkRecipientRcptMaps(rcpt) }); r == stReject {
				st = r
			}
		}
	case StageData, StageEndOfData:
		sender := internalAddr(req.Sender)
		s.sender = present(sender)
		if req.RecipientCount <= 1 && req.Recipient != "" {
			rcpt := internalAddr(req.Recipient)
			s.recipient = present(rcpt)
		}
		l, name, class := p.data, "DATA", nameData
		if stage == StageEndOfData {
			l, name, class = p.eod, "END-OF-MESSAGE", nameEOD
		}
		st = s.run(l, name, class, "")
		if st != stReject && s.deferIfPermit != nil {
			st = s.rejectAbortSafe(s.deferIfPermit)
		}
		if st != stReject && stage == StageEndOfData && len(req.Header) > 0 {
			hd, err := p.CheckHeaders(ctx, req.Header)
			if err != nil || hd.Refused() || hd.Action == Discard || hd.Action == Hold {
				hd.Warnings = append(s.warnings, hd.Warnings...)
				hd.Prepend = append(s.prepend, hd.Prepend...)
				return hd, err
			}
			s.warnings = append(s.warnings, hd.Warnings...)
			s.prepend = append(s.prepend, hd.Prepend...)
			// cleanup's FILTER and REDIRECT replace smtpd's.
			if hd.Filter != "" {
				s.filter = hd.Filter
			}
			if hd.Redirect != "" {
				s.redirect = hd.Redirect
			}
			d, err := s.decision(st)
			d.HeaderEdits, d.HeaderPrepends = hd.HeaderEdits, hd.HeaderPrepends
			return d, err
		}
	default:
		return Decision{}, errors.New("restrict: unknown stage")
	}
	return s.decision(st)
}

// badSender is smtpd's answer to a MAIL FROM address that
// trivial-rewrite cannot resolve (mail_cmd: smtpd_check_addr).
var badSender = Decision{Action: Reject, Code: 501, Enhanced: "5.1.7", Text: "Bad sender address syntax", Restriction: "address syntax"}

// checkMail evaluates smtpd_sender_restrictions and the implicit
// reject_unlisted_sender.
func (s *state) checkMail() status {
	p := s.p
	st := s.run(p.sender, s.sender.val, nameSender, "check_sender_access")
	if st != stReject && p.cfg.rejectUnlistedSender && !s.senderMapDone && !s.discard && s.sender.val != "" {
		sender := s.sender.val
		if r := s.runFunc(func() status { return s.checkSenderRcptMaps(sender) }); r == stReject {
			st = r
		}
	}
	return st
}

// runFunc runs f with the abort handling of run.
func (s *state) runFunc(f func() status) (st status) {
	s.warnIfReject = 0
	defer func() {
		if r := recover(); r != nil {
			if r != errAbort {
				panic(r)
			}
			st = stReject
		}
	}()
	return f()
}

// rejectAbortSafe turns a postponed defer_if_permit into the refusal.
func (s *state) rejectAbortSafe(d *reply) status {
	s.warnIfReject = 0
	s.deferIfReject = nil
	return s.reject(classPolicy, d.code, d.dsn, "%s", d.text)
}

// decision builds the Decision from the evaluation state.
func (s *state) decision(st status) (Decision, error) {
	d := Decision{
		Warnings:    s.warnings,
		Prepend:     s.prepend,
		Redirect:    s.redirect,
		Filter:      s.filter,
		Restriction: s.decidedBy,
	}
	switch {
	case st == stReject && s.final != nil:
		d.Code, d.Enhanced, d.Text = s.final.code, s.final.dsn, s.final.text
		d.Action = Reject
		if d.Code/100 == 4 {
			d.Action = Defer
		}
	case s.discard:
		d.Action = Discard
	case s.hold:
		d.Action = Hold
	case st == stOK:
		d.Action = Permit
	default:
		d.Action = Dunno
	}
	if s.err != nil {
		return d, s.err
	}
	return d, nil
}
