package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/sieve"
)

// enqueueMessage hands a message the Sieve actions made to the queue.
func enqueueMessage(ctx context.Context, q *queue.Queue, from string, to []string, msg []byte) error {
	env := &queue.Envelope{From: from}
	for _, t := range to {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: t})
	}
	_, err := q.Enqueue(ctx, env, bytes.NewReader(msg))
	return err
}

// redirect forwards the message (redirect, RFC 5228 section 4.2) with
// the original envelope sender, marking it with X-Sieve-Redirected-From
// and refusing to redirect a message this recipient redirected before
// (a redirect loop).
func (d *sieveDeliverer) redirect(ctx context.Context, env *lmtp.Envelope, rcpt, user, to string, msg []byte) {
	hs, _ := splitTop(msg)
	for _, v := range headerValues(hs, "x-sieve-redirected-from") {
		if strings.EqualFold(strings.TrimSpace(v), rcpt) {
			d.log.Warn("sieve: redirect loop; not redirected", "user", user, "to", to)
			return
		}
	}
	var b bytes.Buffer
	b.WriteString("X-Sieve-Redirected-From: " + rcpt + "\r\n")
	b.Write(stripReturnPath(msg))
	if err := d.enqueue(ctx, env.From, []string{to}, b.Bytes()); err != nil {
		d.log.Error("sieve: redirect failed", "user", user, "to", to, "err", err)
		return
	}
	d.log.Info(fmt.Sprintf("sieve: forwarded to <%s>", to), "user", user)
}

// vacation sends the auto-reply (RFC 5230 section 5) from the null
// sender unless the run suppressed it.
func (d *sieveDeliverer) vacation(ctx context.Context, env *lmtp.Envelope, rcpt, user string, m *sieve.Message, v *sieve.VacationReply) {
	if v.Suppressed != "" {
		d.log.Info("sieve: vacation: not sending response: "+v.Suppressed, "user", user, "to", v.To)
		return
	}
	from := v.From
	if from == "" {
		from = rcpt
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: <%s>\r\n", v.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", encodeWord(v.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomID(), d.hostname)
	if v.InReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", v.InReplyTo)
		fmt.Fprintf(&b, "References: %s\r\n", v.References)
	}
	b.WriteString("Auto-Submitted: auto-replied (vacation)\r\n")
	b.WriteString("Precedence: bulk\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	if v.Mime {
		b.WriteString(crlf(v.Body))
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(crlf(v.Body))
	}
	if err := d.enqueue(ctx, "", []string{v.To}, b.Bytes()); err != nil {
		d.log.Error("sieve: vacation reply failed", "user", user, "to", v.To, "err", err)
		return
	}
	d.log.Info(fmt.Sprintf("sieve: sent vacation response to <%s>", v.To), "user", user)
}

// reject returns the message to its sender with the reason (RFC 5429
// section 2.2), as a report from the null sender; the null sender's
// mail is dropped.
func (d *sieveDeliverer) reject(ctx context.Context, env *lmtp.Envelope, rcpt, user string, m *sieve.Message, reason string) {
	if env.From == "" {
		d.log.Info("sieve: reject: null sender; message discarded", "user", user)
		return
	}
	boundary := randomID()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d.hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", env.From)
	b.WriteString("Subject: Automatically rejected mail\r\n")
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomID(), d.hostname)
	b.WriteString("Auto-Submitted: auto-replied (rejected)\r\nPrecedence: bulk\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=disposition-notification;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is a MIME-encapsulated message\r\n\r\n--%s\r\n", boundary)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Your message to <%s> was automatically rejected:\r\n%s\r\n", rcpt, crlf(reason))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/disposition-notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-UA: %s; yubin\r\nFinal-Recipient: rfc822; %s\r\nDisposition: automatic-action/MDN-sent-automatically; deleted\r\n\r\n", d.hostname, rcpt)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	hs, _ := splitTop(stripReturnPath(m.Raw()))
	b.Write(hs)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	if err := d.enqueue(ctx, "", []string{env.From}, b.Bytes()); err != nil {
		d.log.Error("sieve: reject failed", "user", user, "err", err)
		return
	}
	d.log.Info(fmt.Sprintf("sieve: rejected message from <%s>", env.From), "user", user)
}

// notify sends an enotify mailto notification (RFC 5436) from the null
// sender.
func (d *sieveDeliverer) notify(ctx context.Context, rcpt, user string, n *sieve.Notification) {
	to := mailtoRecipients(n.Method)
	if len(to) == 0 {
		return
	}
	from := n.From
	if from == "" {
		from = rcpt
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\n", from, strings.Join(to, ", "), encodeWord(oneLine(n.Message)))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s@%s>\r\n", time.Now().Format(time.RFC1123Z), randomID(), d.hostname)
	b.WriteString("Auto-Submitted: auto-notified\r\nPrecedence: bulk\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(crlf(n.Message) + "\r\n")
	if err := d.enqueue(ctx, "", to, b.Bytes()); err != nil {
		d.log.Error("sieve: notify failed", "user", user, "err", err)
	}
}

// mailtoRecipients returns the addresses of a mailto: URI.
func mailtoRecipients(uri string) []string {
	rest, ok := strings.CutPrefix(strings.ToLower(uri[:min(7, len(uri))]), "mailto:")
	_ = rest
	if !ok {
		return nil
	}
	addrs := uri[7:]
	if i := strings.IndexByte(addrs, '?'); i >= 0 {
		addrs = addrs[:i]
	}
	var out []string
	for _, a := range strings.Split(addrs, ",") {
		if a = strings.TrimSpace(a); a != "" && strings.Contains(a, "@") && !strings.ContainsAny(a, "\r\n<>") {
			out = append(out, a)
		}
	}
	return out
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func encodeWord(s string) string {
	s = oneLine(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// crlf normalises line ends to CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// splitTop returns the header block (with its line ends) and the body.
func splitTop(msg []byte) ([]byte, []byte) {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2], msg[i+4:]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1], msg[i+2:]
	}
	return msg, nil
}

// headerValues returns the values of a header field in a header block.
func headerValues(hs []byte, name string) []string {
	var out []string
	for _, line := range strings.Split(string(hs), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// stripReturnPath drops the Return-Path delivery added (a forwarded or
// quoted message must not carry it).
func stripReturnPath(msg []byte) []byte {
	if len(msg) > 12 && strings.EqualFold(string(msg[:12]), "Return-Path:") {
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			return msg[i+1:]
		}
	}
	return msg
}
