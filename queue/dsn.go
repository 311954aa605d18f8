package queue

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// dsnKind is the kind of a delivery status notification.
type dsnKind int

const (
	// dsnFailure is a non-delivery report (bounce): Postfix's
	// "Undelivered Mail Returned to Sender".
	dsnFailure dsnKind = iota
	// dsnDelay is a delay warning (delay_warning_time).
	dsnDelay
	// dsnSuccess is a delivery report for NOTIFY=SUCCESS recipients
	// (actions delivered, relayed or expanded).
	dsnSuccess
)

// notifyName is the RFC 3461 NOTIFY keyword that asks for the kind.
func (k dsnKind) notifyName() string {
	switch k {
	case dsnDelay:
		return "DELAY"
	case dsnSuccess:
		return "SUCCESS"
	}
	return "FAILURE"
}

// Defaults of the notices, as Postfix's.
const (
	// defaultBounceSizeLimit is Postfix's bounce_size_limit: the most
	// bytes of the original message a notice returns.
	defaultBounceSizeLimit = 50000
	// dsnWrapLength is where Postfix wraps the recipient lines of the
	// notification and the Diagnostic-Code field (line_wrap, 79
	// columns, continuation lines indented by 4).
	dsnWrapLength = 79
	dsnWrapIndent = 4
)

// errNoDSNRecipients is returned by writeDSN when no recipient of the
// report asked for a notice of its kind (RFC 3461 NOTIFY): nothing is
// written and no notice is due.
var errNoDSNRecipients = errors.New("queue: no recipient asked for this notice")

// dsnReport is what a delivery status notification (RFC 3464) tells
// the sender of a message.
type dsnReport struct {
	Kind dsnKind
	// Host is the reporting MTA's host name (myhostname): it names the
	// Reporting-MTA and signs the notification text.
	Host string
	// From is the notice's sender address, "MAILER-DAEMON@"+Host when
	// empty.
	From string
	// MailName names the MTA in the X-<name>-Queue-ID and
	// X-<name>-Sender fields and the Diagnostic-Code type of local
	// outcomes (X-<name>); "Postfix" when empty, so that bounce
	// processors that know Postfix's fields read ours.
	MailName string
	// Envelope is the original message's envelope: ID, From, Arrival,
	// Ret, EnvID, Body and UTF8 are used.
	Envelope *Envelope
	// Recipients are the recipients the notice reports on; those whose
	// NOTIFY does not ask for Kind are left out.
	Recipients []dsnRecipient
	// Content is the original message (CRLF lines), nil when it is not
	// available; Size is its size in bytes, 0 when unknown.
	Content io.Reader
	Size    int64
	// SizeLimit is bounce_size_limit: a message larger than it (or of
	// unknown size) is returned as headers only, and no more than
	// SizeLimit bytes of it are copied. 0 means no limit.
	SizeLimit int64
	// Now is the time of the notice (Date field, MIME boundary).
	Now time.Time
	// WarnAfter is delay_warning_time and RetryUntil the time the
	// message expires (arrival + maximal_queue_lifetime), for delay
	// warnings.
	WarnAfter  time.Duration
	RetryUntil time.Time
	// MessageID is the notice's Message-Id (with angle brackets); one
	// is made from Now, the queue ID and Host when empty.
	MessageID string
	// Postmaster makes the notice a postmaster copy (notify_classes,
	// postmaster_notice.go): "Postmaster Copy: Undelivered Mail" or
	// "Postmaster Warning: Delayed Mail", Auto-Submitted:
	// auto-generated, no template text, every recipient whatever its
	// NOTIFY, the original's headers only (all of a bounce that could
	// not be delivered, a double bounce). It may report on a message
	// from the null sender.
	Postmaster bool
	// To is the notice's recipient, the original sender when empty.
	To string
}

// dsnRecipient is one recipient of a notice and its outcome.
type dsnRecipient struct {
	Recipient Recipient
	// Action is the RFC 3464 action: "failed", "delayed", "delivered",
	// "relayed" or "expanded". When empty it follows from the kind: a
	// failure is "failed", a delay "delayed", and a success "relayed"
	// when the result came from a remote server, else "delivered".
	Action string
	Result Result
}

// writeDSN writes the notice of r as a complete message with CRLF line
// endings, laid out as Postfix 3.7's bounce(8) lays it out: a
// multipart/report (RFC 6522) with the human-readable notification,
// the message/delivery-status part (RFC 3464; message/global-delivery-
// status of RFC 6533 when the message was sent with SMTPUTF8) and the
// original message (message/rfc822) or its headers
// (text/rfc822-headers). It returns errNoDSNRecipients, writing
// nothing, when no recipient asked for a notice of r.Kind.
func writeDSN(w io.Writer, r *dsnReport) error {
	env := r.Envelope
	if env == nil {
		return errors.New("queue: DSN without an envelope")
	}
	if env.From == "" && !r.Postmaster {
		// RFC 5321 section 4.5.5: never notify the null sender.
		return errors.New("queue: no DSN to the null sender")
	}
	var rcpts []dsnRecipient
	for _, rc := range r.Recipients {
		if r.Postmaster || rc.Recipient.notify(r.Kind.notifyName()) {
			rcpts = append(rcpts, rc)
		}
	}
	if len(rcpts) == 0 {
		return errNoDSNRecipients
	}
	host := oneLine(r.Host, false)
	if host == "" {
		host = "localhost"
	}
	mailName := r.MailName
	if mailName == "" {
		mailName = "Postfix"
	}
	utf8 := env.UTF8
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	from := r.From
	if from == "" {
		from = "MAILER-DAEMON@" + host
	}
	// The original sender as the notice shows it: the null sender is
	// MAILER-DAEMON, as in Postfix.
	sender := env.From
	if sender == "" {
		sender = "MAILER-DAEMON@" + host
	}
	to, subject, autoSubmitted := env.From, r.Kind.subject(), "auto-replied"
	if r.Postmaster {
		subject, autoSubmitted = r.Kind.postmasterSubject(), "auto-generated"
	}
	if r.To != "" {
		to = r.To
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	msgID := r.MessageID
	if msgID == "" {
		msgID = fmt.Sprintf("<%s.%s.%s@%s>", now.UTC().Format("20060102150405"), dsnToken(env.ID), hex.EncodeToString(rnd[:3]), host)
	}
	// Postfix's boundary is queue ID, time and host name; a random part
	// is added so that a returned message cannot contain it by design.
	boundary := fmt.Sprintf("%s.%d.%s/%s", dsnToken(env.ID), now.Unix(), hex.EncodeToString(rnd[3:]), dsnToken(host))
	// The notice carries 8-bit text (the template is UTF-8, the original
	// may be 8-bit) unless the message was declared 7-bit and is not an
	// SMTPUTF8 one.
	cte := "8bit"
	if strings.EqualFold(env.Body, "7BIT") && !utf8 {
		cte = "7bit"
	}

	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) {
		fmt.Fprintf(bw, format, args...)
		bw.WriteString("\r\n")
	}
	p("Date: %s", mailDate(now))
	p("From: Mail Delivery System <%s>", oneLine(from, utf8))
	p("Subject: %s", subject)
	p("To: %s", oneLine(to, utf8))
	p("Auto-Submitted: %s", autoSubmitted)
	p("MIME-Version: 1.0")
	// Postfix keeps report-type=delivery-status in SMTPUTF8 notices too.
	p("Content-Type: multipart/report; report-type=delivery-status;")
	p("\tboundary=\"%s\"", boundary)
	p("Content-Transfer-Encoding: %s", cte)
	p("Message-Id: %s", oneLine(msgID, false))
	p("")
	p("This is a MIME-encapsulated message.")
	p("")

	// The human-readable part (RFC 6522 section 3).
	p("--%s", boundary)
	p("Content-Description: Notification")
	p("Content-Type: text/plain; charset=utf-8")
	p("Content-Transfer-Encoding: 8bit")
	p("")
	if !r.Postmaster {
		p("This is the mail system at host %s.", host)
		p("")
		for _, line := range r.Kind.boilerplate(r) {
			p("%s", line)
		}
	}
	for i := range rcpts {
		p("")
		for _, line := range lineWrap("<"+oneLine(rcpts[i].Recipient.Addr, true)+">: "+rcpts[i].humanText(r.Kind), dsnWrapLength, dsnWrapIndent) {
			p("%s", line)
		}
	}
	p("")

	// The machine-readable part (RFC 3464 section 2).
	p("--%s", boundary)
	p("Content-Description: Delivery report")
	p("Content-Type: message/%sdelivery-status", globalPrefix(utf8))
	if utf8 {
		p("Content-Transfer-Encoding: %s", cte)
	}
	p("")
	p("Reporting-MTA: dns; %s", host)
	if env.EnvID != "" {
		p("Original-Envelope-Id: %s", oneLine(xtextDecode(env.EnvID), utf8))
	}
	p("X-%s-Queue-ID: %s", mailName, oneLine(env.ID, false))
	p("X-%s-Sender: %s", mailName, addrField(sender, utf8))
	if !env.Arrival.IsZero() {
		p("Arrival-Date: %s", mailDate(env.Arrival))
	}
	for i := range rcpts {
		rc := &rcpts[i]
		p("")
		p("Final-Recipient: %s", addrField(rc.Recipient.Addr, utf8))
		p("Original-Recipient: %s", oneLine(rc.originalRecipient(), utf8))
		p("Action: %s", rc.action(r.Kind))
		p("Status: %s", rc.status(r.Kind))
		if rc.Result.Remote && rc.Result.RemoteMTA != "" {
			p("Remote-MTA: dns; %s", oneLine(rc.Result.RemoteMTA, utf8))
		}
		for _, line := range lineWrap("Diagnostic-Code: "+rc.diagnostic(r.Kind, mailName, utf8), dsnWrapLength, dsnWrapIndent) {
			p("%s", line)
		}
		if r.Kind == dsnDelay && !r.RetryUntil.IsZero() {
			p("Will-Retry-Until: %s", mailDate(r.RetryUntil))
		}
	}
	p("")

	// The original message (RFC 6522 section 3, RFC 3461 section 4.3):
	// failures return it whole unless RET=HDRS; delay warnings and
	// success reports return its headers. As Postfix does, a message
	// larger than the bounce size limit is returned as headers only so
	// that its MIME structure stays whole.
	// Postmaster copies return headers, but about a bounce (a message
	// from the null sender) they return it all, as Postfix does.
	ret, kindHeaders := env.Ret, r.Kind != dsnFailure
	if r.Postmaster {
		ret, kindHeaders = "HDRS", true
		if env.From == "" {
			ret, kindHeaders = "FULL", false
		}
	}
	headersOnly := kindHeaders || strings.EqualFold(ret, "HDRS") ||
		strings.EqualFold(env.Body, "BINARYMIME") ||
		(r.SizeLimit > 0 && (r.Size <= 0 || r.Size > r.SizeLimit))
	desc := "Message"
	ctype := "message/rfc822"
	if utf8 {
		ctype = "message/global"
	}
	if headersOnly {
		desc = "Message Headers"
		ctype = "text/rfc822-headers"
		if utf8 {
			ctype = "message/global-headers"
		}
	}
	if r.Kind != dsnSuccess {
		desc = "Undelivered " + desc
	}
	p("--%s", boundary)
	p("Content-Description: %s", desc)
	p("Content-Type: %s", ctype)
	p("Content-Transfer-Encoding: %s", cte)
	p("")
	var copyErr error
	if r.Content == nil {
		p("\t--- Undelivered message unavailable ---")
	} else {
		p("Return-Path: <%s>", oneLine(sender, utf8))
		copyErr = copyOriginal(bw, r.Content, headersOnly, r.SizeLimit)
	}
	p("")
	p("--%s--", boundary)
	if err := bw.Flush(); err != nil {
		return err
	}
	return copyErr
}

func globalPrefix(utf8 bool) string {
	if utf8 {
		return "global-"
	}
	return ""
}

// postmasterSubject is the Subject of a postmaster copy (Postfix's
// Postmaster-Subject template header).
func (k dsnKind) postmasterSubject() string {
	switch k {
	case dsnDelay:
		return "Postmaster Warning: Delayed Mail"
	case dsnSuccess:
		return "Postmaster Copy: Successful Mail Delivery Report"
	}
	return "Postmaster Copy: Undelivered Mail"
}

func (k dsnKind) subject() string {
	switch k {
	case dsnDelay:
		return "Delayed Mail (still being retried)"
	case dsnSuccess:
		return "Successful Mail Delivery Report"
	}
	return "Undelivered Mail Returned to Sender"
}

// action is the recipient's RFC 3464 Action.
func (rc *dsnRecipient) action(k dsnKind) string {
	if rc.Action != "" {
		return oneLine(rc.Action, false)
	}
	switch k {
	case dsnDelay:
		return "delayed"
	case dsnSuccess:
		if rc.Result.Remote {
			return "relayed"
		}
		return "delivered"
	}
	return "failed"
}

// status is the recipient's enhanced status code (RFC 3463).
func (rc *dsnRecipient) status(k dsnKind) string {
	if s := rc.Result.DSN; validStatusCode(s) {
		return s
	}
	switch k {
	case dsnDelay:
		return "4.0.0"
	case dsnSuccess:
		return "2.0.0"
	}
	return "5.0.0"
}

// validStatusCode reports whether s is an RFC 3463 status code:
// class "." subject "." detail.
func validStatusCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(s) > 11 {
		return false
	}
	if parts[0] != "2" && parts[0] != "4" && parts[0] != "5" {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// originalRecipient is the Original-Recipient field's value: the ORCPT
// parameter (xtext decoded), or as Postfix does without one, the address
// the client named.
func (rc *dsnRecipient) originalRecipient() string {
	if o := rc.Recipient.ORcpt; o != "" {
		return xtextDecode(o)
	}
	if o := rc.Recipient.Orig; o != "" {
		return "rfc822;" + o
	}
	return "rfc822;" + rc.Recipient.Addr
}

// remoteReply returns the remote server's reply in a result's text: the
// text itself, or what follows "host ... said: " without Postfix's
// "(in reply to ... command)" suffix.
func remoteReply(text string) string {
	if strings.HasPrefix(text, "host ") {
		if i := strings.Index(text, " said: "); i >= 0 {
			text = text[i+len(" said: "):]
		}
	}
	if i := strings.LastIndex(text, " (in reply to "); i >= 0 && strings.HasSuffix(text, " command)") {
		text = text[:i]
	}
	return text
}

// diagnostic is the Diagnostic-Code field's value: "smtp; reply" for a
// remote server's reply, "X-Postfix; text" for other outcomes.
func (rc *dsnRecipient) diagnostic(k dsnKind, mailName string, utf8 bool) string {
	if rc.Result.Remote {
		return "smtp; " + oneLine(remoteReply(rc.Result.Text), utf8)
	}
	return "X-" + mailName + "; " + oneLine(rc.text(k), utf8)
}

// text is the outcome's text; for a success, as Postfix's sent(),
// "delivery via RELAY: text".
func (rc *dsnRecipient) text(k dsnKind) string {
	res := &rc.Result
	text := res.Text
	if text == "" {
		text = "no further information"
	}
	if k == dsnSuccess && res.Relay != "" && !strings.HasPrefix(text, "delivery via ") {
		// "delivery via mx.example.jp[192.0.2.1]:25: 250 2.0.0 Ok",
		// "delivery via local: delivered to mailbox".
		text = "delivery via " + res.Relay + ": " + text
	}
	return text
}

// humanText is the reason shown in the notification after "<addr>: ".
func (rc *dsnRecipient) humanText(k dsnKind) string {
	return oneLine(rc.text(k), true)
}

// boilerplate is the notification text after "This is the mail system
// at host ...", as Postfix 3.7's default bounce templates have it.
func (k dsnKind) boilerplate(r *dsnReport) []string {
	help := []string{
		"For further assistance, please send mail to postmaster.",
		"",
		"If you do so, please include this problem report. You can",
		"delete your own text from the attached returned message.",
		"",
		"                   The mail system",
	}
	switch k {
	case dsnDelay:
		days := 0
		if !r.RetryUntil.IsZero() && r.Envelope != nil && !r.Envelope.Arrival.IsZero() {
			days = int(r.RetryUntil.Sub(r.Envelope.Arrival).Round(time.Hour).Hours() / 24)
		}
		return append([]string{
			"####################################################################",
			"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
			"####################################################################",
			"",
			fmt.Sprintf("Your message could not be delivered for more than %d hour(s).", int(r.WarnAfter.Hours())),
			fmt.Sprintf("It will be retried until it is %d day(s) old.", days),
			"",
		}, help...)
	case dsnSuccess:
		return []string{
			"Your message was successfully delivered to the destination(s)",
			"listed below. If the message was delivered to mailbox you will",
			"receive no further notifications. Otherwise you may still receive",
			"notifications of mail delivery errors from other systems.",
			"",
			"                   The mail system",
		}
	}
	return append([]string{
		"I'm sorry to have to inform you that your message could not",
		"be delivered to one or more recipients. It's attached below.",
		"",
	}, help...)
}
