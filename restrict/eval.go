package restrict

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// status is the outcome of one restriction, as in Postfix's smtpd_check.
type status int

const (
	stDunno status = iota
	stOK
	stReject
)

// reply is a formatted refusal.
type reply struct {
	code int
	dsn  string
	text string
}

// errClass separates policy refusals (which warn_if_reject may soften)
// from configuration and lookup failures (which it may not).
type errClass int

const (
	classPolicy errClass = iota
	classSoftware
	classData
)

// Reply classes and names as Postfix prints them.
const (
	nameClient    = "Client host"
	nameRevClient = "Unverified Client host"
	nameHelo      = "Helo command"
	nameSender    = "Sender address"
	nameRecipient = "Recipient address"
	nameData      = "Data command"
	nameEOD       = "End-of-data"
	nameSASL      = "SASL login name"
)

// errAbort unwinds an evaluation after a configuration or lookup error;
// the reply is in state.final.
var errAbort = errors.New("restrict: evaluation aborted")

// state is one evaluation of the restrictions for a request.
type state struct {
	p     *Policy
	ctx   context.Context
	req   *Request
	stage Stage

	sender    optional // unset before MAIL FROM
	recipient optional // unset outside RCPT (and DATA with one recipient)
	helo      optional // unset before HELO

	recursion     int
	warnIfReject  int
	deferIfPermit *reply
	deferIfReject *reply
	final         *reply // the refusal, when status is stReject
	discard, hold bool
	filter        string
	redirect      string
	prepend       []string
	warnings      []string
	decidedBy     string
	rcptMapDone   bool
	senderMapDone bool
	err           error // first lookup/config error
	rcache        [2]resolveMemo
	namaddrCache  string
	now           int64 // rblNow's reading, 0 before the first DNSBL
	mynetworks    int8  // inMynetworks: 0 not known yet, 1 yes, -1 no
	rnext         int
}

// optional is a string that may be absent, as Postfix's state fields
// that are NULL until the command that sets them. (A value rather than a
// *string keeps the evaluation state off the heap.)
type optional struct {
	val string
	set bool
}

func present(v string) optional { return optional{val: v, set: true} }

func (s *state) namaddr() string {
	if s.namaddrCache == "" {
		s.namaddrCache = s.req.clientName() + "[" + addrString(s.req.ClientAddr) + "]"
	}
	return s.namaddrCache
}

func (s *state) logWhatsup(whatsup, text string) {
	var b strings.Builder
	qid := s.req.QueueID
	if qid == "" {
		qid = "NOQUEUE"
	}
	fmt.Fprintf(&b, "%s: %s: %s from %s: %s;", qid, whatsup, s.stage, s.namaddr(), text)
	if s.sender.set {
		fmt.Fprintf(&b, " from=<%s>", s.sender.val)
	}
	if s.recipient.set {
		fmt.Fprintf(&b, " to=<%s>", s.recipient.val)
	}
	if s.helo.set {
		fmt.Fprintf(&b, " helo=<%s>", s.helo.val)
	}
	line := b.String()
	s.warnings = append(s.warnings, line)
	s.p.log.Info(line)
}

// reject formats a refusal as smtpd_check_reject does: it honours
// warn_if_reject (for policy refusals), defer_if_reject, and forces the
// enhanced code's class to the reply code's.
func (s *state) reject(class errClass, code int, dsn, format string, args ...any) status {
	warn := s.warnIfReject > 0 && class == classPolicy
	text := fmt.Sprintf(format, args...)
	if code < 400 || code > 599 {
		s.p.log.Warn("SMTP reply code configuration error", "code", code, "text", text)
		code, dsn, text = 450, "4.7.1", "Service unavailable"
	}
	if !validDSN(dsn) {
		s.p.log.Warn("DSN detail code configuration error", "dsn", dsn)
		code, dsn, text = 450, "4.7.1", "Service unavailable"
	}
	text = printable(text)
	if len(text) > 500 {
		text = text[:500]
	}
	if !warn && s.deferIfReject != nil && code/100 == 5 {
		d := s.deferIfReject
		s.deferIfReject = nil
		s.warnIfReject = 0
		return s.reject(classPolicy, d.code, d.dsn, "%s", d.text)
	}
	dsn = string(rune('0'+code/100)) + dsn[1:]
	r := &reply{code: code, dsn: dsn, text: text}
	full := strconv.Itoa(code) + " " + dsn + " " + text
	if warn {
		s.logWhatsup("reject_warning", full)
		return stDunno
	}
	// The refusal itself is not logged here: the caller sends it, maybe
	// later than now (smtpd_delay_reject), and logs it once with the
	// reply it sent, as Postfix's smtpd logs "NOQUEUE: reject: RCPT
	// from ..." once (smtp.Server does).
	s.final = r
	return stReject
}

// deferIf records a defer_if_permit or defer_if_reject reason; the first
// one is kept.
func deferIf(slot **reply, code int, dsn, format string, args ...any) {
	if *slot == nil {
		*slot = &reply{code: code, dsn: dsn, text: fmt.Sprintf(format, args...)}
	}
}

// deferIfPermitOrReject implements the *_tempfail_action choice: with
// defer_if_permit (and no warn_if_reject) the refusal is postponed,
// otherwise it is immediate.
func (s *state) deferIfPermitOrReject(action string, code int, dsn, format string, args ...any) status {
	if s.warnIfReject == 0 && action != "defer" {
		deferIf(&s.deferIfPermit, code, dsn, format, args...)
		return stDunno
	}
	return s.reject(classPolicy, code, dsn, format, args...)
}

// serverError aborts with "451 4.3.5 Server configuration error".
func (s *state) serverError(err error) {
	if s.err == nil {
		s.err = err
	}
	s.reject(classSoftware, 451, "4.3.5", "Server configuration error")
	panic(errAbort)
}

// dictRetry aborts with "451 4.3.0 <name>: Temporary lookup failure".
func (s *state) dictRetry(name string, err error) {
	if s.err == nil {
		s.err = err
	}
	s.reject(classData, 451, "4.3.0", "<%s>: Temporary lookup failure", name)
	panic(errAbort)
}

// run evaluates a list, converting an abort into stReject.
func (s *state) run(l *list, replyName, replyClass, defACL string) (st status) {
	s.recursion = 0
	s.warnIfReject = 0
	s.deferIfReject = nil
	defer func() {
		if r := recover(); r != nil {
			if r != errAbort {
				panic(r)
			}
			st = stReject
		}
	}()
	if l == nil || len(l.steps) == 0 {
		return stDunno
	}
	return s.generic(l, replyName, replyClass, defACL)
}

// generic applies the restrictions of l in order (generic_checks).
func (s *state) generic(l *list, replyName, replyClass, defACL string) status {
	// No deferred restore: an abort (a panic) ends the evaluation, and
	// run starts each list at recursion 0.
	saved := s.recursion
	s.recursion++
	if s.recursion > 100 {
		s.serverError(fmt.Errorf("restriction recursion too deep in %s", l.param))
	}
	st := stDunno
	for i := range l.steps {
		if s.discard {
			break
		}
		step := &l.steps[i]
		if step.kind == kWarnIfReject {
			if s.warnIfReject == 0 {
				s.warnIfReject = s.recursion
			}
			continue
		}
		st = s.apply(step, replyName, replyClass, defACL)
		if s.warnIfReject >= s.recursion {
			s.warnIfReject = 0
		}
		if st != stDunno {
			if s.decidedBy == "" {
				s.decidedBy = step.name
				if step.arg != "" && step.kind != kBareMap && step.kind != kClass {
					s.decidedBy += " " + step.arg
				}
			}
			break
		}
		if s.deferIfPermit != nil && s.deferIfReject != nil {
			break
		}
	}
	if s.warnIfReject >= s.recursion {
		s.warnIfReject = 0
	}
	s.recursion = saved
	return st
}

func validDSN(d string) bool {
	parts := strings.Split(d, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// dsnSplit takes an optional leading enhanced status code off text.
func dsnSplit(def, text string) (string, string) {
	if i := strings.IndexAny(text, " \t"); i > 0 && validDSN(text[:i]) {
		return text[:i], strings.TrimLeft(text[i:], " \t")
	}
	if validDSN(text) {
		return text, ""
	}
	return def, text
}

// dsnFix adjusts an enhanced code to the reply class, as Postfix's
// smtpd_dsn_fix does: an address code (X.1.Y) about a sender or a
// recipient is mapped with smtpd_dsn_fix.c's table (sender: 1, 3, 4, 6,
// 7 become X.1.7; 2, 8 become X.1.8; others X.1.0; recipient: 7 becomes
// X.1.3, 8 becomes X.1.2, 0-6 stay, others X.1.0), and an address code
// about anything else (client, helo) becomes X.0.0. Checked against a
// real Postfix by TestPostfixAccessResultsAndCodes.
func dsnFix(dsn, replyClass string) string {
	if len(dsn) < 5 || !strings.HasPrefix(dsn[1:], ".1.") {
		return dsn
	}
	switch replyClass {
	case nameSender:
		switch dsn[4:] {
		case "1", "3", "4", "6", "7":
			return dsn[:4] + "7"
		case "2", "8":
			return dsn[:4] + "8"
		}
		return dsn[:4] + "0"
	case nameRecipient:
		switch dsn[4:] {
		case "0", "1", "2", "3", "4", "5", "6":
			return dsn
		case "7":
			return dsn[:4] + "3"
		case "8":
			return dsn[:4] + "2"
		}
		return dsn[:4] + "0"
	}
	return dsn[:1] + ".0.0"
}

// printable replaces control and non-ASCII bytes with spaces, as Postfix
// does before sending a reply.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c < 0x20 || c >= 0x7f {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}
