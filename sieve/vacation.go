package sieve

import (
	"fmt"
	"strings"
	"time"
)

// Vacation periods as Pigeonhole's defaults: sieve_vacation_min_period
// 1 day, sieve_vacation_max_period 0 (none), :days default 7.
const (
	vacationMinPeriod     = 24 * time.Hour
	vacationDefaultPeriod = 7 * 24 * time.Hour
)

// vacationAction builds the vacation reply (RFC 5230) and decides
// whether it may be sent; a suppressed reply stays in the result with
// its reason so the caller can log it.
func (r *run) vacationAction(c *call) error {
	if r.vacation {
		return r.fail(c.pos, "duplicate vacation action not allowed")
	}
	r.vacation = true
	v := &VacationReply{Body: r.str(c.args[0]), Mime: c.has("mime"), Period: vacationDefaultPeriod}
	if a, ok := c.tags["days"]; ok {
		v.Period = time.Duration(a.num) * 24 * time.Hour
	}
	if a, ok := c.tags["seconds"]; ok {
		v.Period = time.Duration(a.num) * time.Second
	}
	if v.Period < vacationMinPeriod {
		v.Period = vacationMinPeriod
	}
	fromGiven := false
	subjectGiven := false
	if a, ok := c.tags["subject"]; ok {
		v.Subject, subjectGiven = r.str(a), true
		v.subjectGiven = true
	}
	if a, ok := c.tags["from"]; ok {
		v.From, fromGiven = r.str(a), true
	}
	if a, ok := c.tags["handle"]; ok {
		v.Handle = r.str(a)
	} else {
		// Pigeonhole derives the handle from the arguments as written,
		// before variable expansion.
		var b strings.Builder
		b.WriteString(c.args[0].strs[0])
		if subjectGiven {
			b.WriteString(c.tags["subject"].strs[0])
		} else {
			b.WriteString("<default-subject>")
		}
		if fromGiven {
			b.WriteString(c.tags["from"].strs[0])
		} else {
			b.WriteString("<default-from>")
		}
		if v.Mime {
			b.WriteString("<MIME>")
		} else {
			b.WriteString("<NO-MIME>")
		}
		v.Handle = b.String()
	}
	if !subjectGiven {
		orig := headerValues(r.headers, "subject")
		if len(orig) > 0 {
			v.Subject = "Auto: " + decodeHeader(orig[0])
		} else {
			v.Subject = "Automated reply"
		}
	}
	if ids := headerValues(r.headers, "message-id"); len(ids) > 0 {
		v.InReplyTo = unfold(ids[0])
		refs := headerValues(r.headers, "references")
		if len(refs) > 0 {
			v.References = unfold(refs[0]) + " " + v.InReplyTo
		} else {
			v.References = v.InReplyTo
		}
	}
	v.To = r.env.Envelope.From
	var addrs []string
	if a, ok := c.tags["addresses"]; ok {
		addrs = r.strs(a)
	}
	v.Suppressed = r.vacationSuppressed(v, addrs)
	if v.Suppressed == "" && r.env.Tracker != nil {
		key := "vacation\x00" + strings.ToLower(v.To) + "\x00" + v.Handle
		seen, err := r.env.Tracker.Seen(r.ctx, key)
		if err == nil && seen {
			v.Suppressed = "already responded to this sender within the period"
		} else {
			r.res.Track = append(r.res.Track, TrackEntry{Key: key, Period: v.Period})
		}
	}
	return r.add(c, Action{Kind: ActVacation, Vacation: v})
}

// listHeaders mark mailing-list mail (RFC 2369, RFC 2919).
var listHeaders = []string{"list-id", "list-owner", "list-subscribe", "list-post",
	"list-unsubscribe", "list-help", "list-archive"}

// vacationSuppressed returns why no reply may go, or "" (RFC 5230
// section 4.5 and 4.6; Pigeonhole's checks).
func (r *run) vacationSuppressed(v *VacationReply, extra []string) string {
	sender := v.To
	if sender == "" {
		return "null envelope sender"
	}
	local, _, _ := splitAddress(sender)
	ll := strings.ToLower(local)
	if ll == "mailer-daemon" || ll == "listserv" || ll == "majordomo" || strings.HasPrefix(ll, "owner-") ||
		strings.HasSuffix(ll, "-request") || strings.HasPrefix(ll, "postmaster") {
		return fmt.Sprintf("system address <%s>", sender)
	}
	for _, a := range headerValues(r.headers, "auto-submitted") {
		if !strings.EqualFold(unfold(a), "no") {
			return "auto-submitted message"
		}
	}
	for _, a := range headerValues(r.headers, "precedence") {
		switch strings.ToLower(unfold(a)) {
		case "bulk", "list", "junk":
			return "precedence=" + strings.ToLower(unfold(a)) + " message"
		}
	}
	for _, h := range listHeaders {
		if len(headerValues(r.headers, h)) > 0 {
			return "mailing list message"
		}
	}
	mine := map[string]bool{}
	for _, a := range append(append([]string{r.env.Envelope.To, r.env.Envelope.OrigTo}, r.env.UserAddresses...), extra...) {
		if a != "" {
			mine[strings.ToLower(a)] = true
		}
	}
	if mine[strings.ToLower(sender)] {
		return "message from the recipient itself"
	}
	for _, h := range []string{"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"} {
		for _, val := range headerValues(r.headers, h) {
			list, _ := parseAddressList(unfold(val))
			for _, a := range list {
				if mine[strings.ToLower(a)] {
					return ""
				}
			}
		}
	}
	return "no known recipient address in the message headers"
}
