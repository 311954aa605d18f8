package queue

// Postmaster notices (notify_classes), as Postfix 3.7's bounce(8) sends
// them:
//
//   - "bounce": when a sender is sent a non-delivery notice (or none was
//     due because of NOTIFY), bounce_notice_recipient gets a copy of it
//     without the template text, with the original's headers only, from
//     double-bounce@myhostname: "Postmaster Copy: Undelivered Mail",
//     logged "postmaster non-delivery notification: ID".
//   - "2bounce" (and "bounce"): a bounce that could not be delivered (a
//     message from the null sender that failed) goes whole to
//     2bounce_notice_recipient in such a copy; without either class it
//     is discarded.
//   - "delay": a copy of each delay warning, headers only, to
//     delay_notice_recipient: "Postmaster Warning: Delayed Mail",
//     logged "postmaster delay notification: ID"; a delayed bounce (from
//     the null sender) goes there whole.
//
// Mail from the double-bounce sender that cannot be delivered is
// discarded with the warning "undeliverable postmaster notification
// discarded": a postmaster notice never causes another notice.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// notifyClass reports whether notify_classes has class ("bounce"
// implies "2bounce").
func (q *Queue) notifyClass(class string) bool {
	for _, c := range q.NotifyClasses {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == class || class == "2bounce" && c == "bounce" {
			return true
		}
	}
	return false
}

// doubleBounceAddr is the sender of postmaster notices.
func (q *Queue) doubleBounceAddr() string {
	return smtpOrStr(q.DoubleBounceSender, "double-bounce") + "@" + smtpOrStr(q.Hostname, "localhost")
}

// noticeRecipient qualifies a *_notice_recipient value.
func (q *Queue) noticeRecipient(addr string) string {
	addr = strings.TrimSpace(smtpOrStr(addr, "postmaster"))
	if !strings.Contains(addr, "@") {
		addr += "@" + smtpOrStr(q.Hostname, "localhost")
	}
	return addr
}

// postmasterFirst handles the notices of mail from the double-bounce
// sender and from the null sender; it reports whether the sender's
// notice is thereby done.
func (q *Queue) postmasterFirst(e *entry, kind dsnKind, ns []notice) bool {
	env := e.m.env
	switch {
	case strings.EqualFold(env.From, q.doubleBounceAddr()):
		if kind != dsnSuccess {
			q.log.Warn(fmt.Sprintf("%s: undeliverable postmaster notification discarded", env.ID), "service", "bounce")
		}
		return true
	case env.From == "" && kind == dsnFailure && q.notifyClass("2bounce"):
		q.sendPostmaster(e, kind, ns, q.DoubleBounceNoticeRecipient)
		return true
	case env.From == "" && kind == dsnDelay && q.notifyClass("delay"):
		q.sendPostmaster(e, kind, ns, q.DelayNoticeRecipient)
		return true
	}
	return false
}

// postmasterCopy sends the postmaster a copy of the sender's notice of
// kind when notify_classes asks for one.
func (q *Queue) postmasterCopy(e *entry, kind dsnKind, ns []notice) {
	switch {
	case kind == dsnFailure && q.notifyClass("bounce"):
		q.sendPostmaster(e, kind, ns, q.BounceNoticeRecipient)
	case kind == dsnDelay && q.notifyClass("delay"):
		q.sendPostmaster(e, kind, ns, q.DelayNoticeRecipient)
	}
}

var postmasterLogNames = [...]string{"postmaster non-delivery notification", "postmaster delay notification", "postmaster delivery status notification"}

// sendPostmaster queues a postmaster copy of the notice of kind about ns
// to rcpt, from the double-bounce sender.
func (q *Queue) sendPostmaster(e *entry, kind dsnKind, ns []notice, rcpt string) {
	env := e.m.env
	to := q.noticeRecipient(rcpt)
	var buf bytes.Buffer
	err := q.writeNotice(&buf, e, kind, ns, func(r *dsnReport) { r.Postmaster, r.To = true, to })
	if errors.Is(err, errNoDSNRecipients) {
		return
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, postmasterLogNames[kind], err), "service", "bounce")
		return
	}
	penv := &Envelope{
		From:       q.doubleBounceAddr(),
		Recipients: []Recipient{{Addr: to, Notify: "NEVER"}},
		UTF8:       env.UTF8,
		Client:     Client{Protocol: "local"},
	}
	id, err := q.Enqueue(context.Background(), penv, q.signedNotice(env.ID, &buf))
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, postmasterLogNames[kind], err), "service", "bounce")
		return
	}
	q.log.Info(fmt.Sprintf("%s: %s: %s", env.ID, postmasterLogNames[kind], id), "service", "bounce")
}
