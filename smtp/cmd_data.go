package smtp

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/restrict"
)

// errPolicyRefused is returned by endCheck's reader when the end-of-data
// restriction refused the message.
var errPolicyRefused = ErrRefused

// ErrRefused is the error a Backend's message reader returns when the
// server's own checks (smtpd_end_of_data_restrictions, header_checks,
// body_checks) refused the message at its end: the server has logged
// the reject and answers the client itself, so a Backend drops the
// message without logging a failure (test with errors.Is).
var ErrRefused = errors.New("smtp: refused at end of data")

// dataChecks returns an error reply (and false) when the transaction is
// not ready for message content.
func (ss *session) dataReady(verb string) bool {
	if ss.from == nil || len(ss.rcpts) == 0 {
		if ss.from == nil && ss.srv.TLSRequired && ss.info.TLS == nil {
			ss.reply(530, "5.7.0", "Must issue a STARTTLS command first")
		} else if ss.from != nil && ss.rcptTried {
			// Postfix: RCPT commands were given, none accepted.
			ss.reply(554, "5.5.1", "Error: no valid recipients")
		} else {
			ss.reply(503, "5.5.1", "Error: need RCPT command")
		}
		return false
	}
	if d, refused := ss.checkPolicy(StageData, ""); refused {
		ss.logReject(verb, d, "")
		ss.replyDecision(d)
		return false
	}
	return true
}

// envelope snapshots the transaction for the Session.
func (ss *session) envelope(chunked bool) *Envelope {
	ss.env = &Envelope{
		QueueID:  ss.queueID,
		From:     *ss.from,
		MailOpts: ss.mailOpts,
		To:       append([]Recipient(nil), ss.rcpts...),
		Conn:     ss.info,
		Received: time.Now(),
		Chunked:  chunked,
		Actions:  ss.connAct.act.merge(ss.heloAct.act).merge(ss.txAct.act),
	}
	return ss.env
}

// endCheck wraps the message so that, when the content has been read to
// its end, the end-of-data restriction is asked with the real size; a
// refusal turns the final EOF into errPolicyRefused so the Session fails
// instead of committing the message.
type endCheck struct {
	r       io.Reader
	ss      *session
	n       int64
	refusal *restrict.Decision
	content bool // the refusal came from header_checks or body_checks
}

func (e *endCheck) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err == io.EOF && e.ss.srv.Policy != nil && e.refusal == nil {
		saved := e.ss.mailOpts.Size
		e.ss.mailOpts.Size = e.n
		d, refused := e.ss.checkPolicy(StageEndOfData, "")
		e.ss.mailOpts.Size = saved
		if refused {
			e.refusal = &d
		}
	}
	if err == io.EOF && e.refusal != nil {
		return n, errPolicyRefused
	}
	return n, err
}

// deliver runs the Session on the message and returns the reply error,
// nil for success.
func (ss *session) deliver(env *Envelope, content io.Reader) (*endCheck, error) {
	// PREPEND lines of access tables and policy services go above the
	// server's own Received header, as Postfix's smtpd puts them.
	hdr := ss.prependLines()
	if !ss.srv.NoReceivedHeader {
		hdr += ss.receivedHeader(env.Received)
	}
	if env.Chunked && env.MailOpts.Body != "BINARYMIME" {
		// BDAT text has no line discipline of its own: its line ends
		// are made what DATA's are, as Postfix's smtpd does
		// (TestPostfixBDATBareCR).
		content = smtpwire.NormalizeLineEnds(content)
	}
	ec := &endCheck{ss: ss}
	ec.r = io.MultiReader(strings.NewReader(hdr), content)
	if cc := ss.srv.contentChecker(); cc != nil && !ss.discard {
		cf := newContentFilter(ss, cc, ec.r)
		cf.ec = ec
		ec.r = cf
	}
	if ss.discard {
		_, err := io.Copy(io.Discard, ec)
		return ec, err
	}
	return ec, ss.be.Data(ss.ctx, env, ec)
}

// finish sends the final reply of DATA or BDAT LAST.
func (ss *session) finish(verb string, env *Envelope, ec *endCheck, err error, tooBig, bareLF bool) bool {
	log := ss.srv.logger()
	switch {
	case tooBig:
		ss.reply(552, "5.3.4", "Error: message file too big")
		log.Info(ss.logID()+": reject: "+verb+" from "+ss.clientStr+": 552 5.3.4 Error: message file too big", "service", ss.info.Service)
	case bareLF:
		ss.reply(550, "5.5.2", "Error: bare <LF> received")
		log.Info(ss.logID()+": reject: "+verb+" from "+ss.clientStr+": 550 5.5.2 Error: bare <LF> received", "service", ss.info.Service)
	case ec != nil && ec.refusal != nil && ec.refusal.Action == restrict.Discard:
		// header_checks or body_checks DISCARD: accepted and dropped.
		err = nil
		ss.delivered()
		ss.reply(250, "2.0.0", "Ok: queued as "+env.QueueID)
	case ec != nil && ec.refusal != nil:
		if !ec.content {
			// header_checks and body_checks refusals were logged as
			// cleanup logs them; one line per reject.
			ss.logReject("END-OF-MESSAGE", *ec.refusal, "")
		}
		ss.replyDecision(*ec.refusal)
	case err != nil:
		e := asError(err)
		if e == errLocal {
			log.Error(env.QueueID+": delivery failed: "+err.Error(), "service", ss.info.Service)
		}
		ss.replyErr(e)
	default:
		if !ss.srv.BackendLogsQueued {
			log.Info(env.QueueID+": from=<"+env.From+">, size="+strconv.FormatInt(ec.n, 10)+", nrcpt="+strconv.Itoa(len(env.To))+" (queue active)", "service", ss.info.Service)
		}
		ss.delivered()
		ss.reply(250, "2.0.0", "Ok: queued as "+env.QueueID)
	}
	ss.resetTransaction()
	return err == nil && !tooBig && !bareLF && (ec == nil || ec.refusal == nil || ec.refusal.Action == restrict.Discard)
}

// cmdData handles DATA (RFC 5321 4.1.1.4).
func (ss *session) cmdData(arg string) (ok, fatal bool) {
	if arg != "" {
		ss.reply(501, "5.5.4", "Syntax: DATA")
		return false, false
	}
	if ss.bdat != nil {
		ss.reply(503, "5.5.1", "Error: DATA after BDAT")
		return false, false
	}
	if ss.from != nil && ss.mailOpts.Body == "BINARYMIME" {
		ss.reply(503, "5.5.1", "Error: BINARYMIME requires BDAT")
		return false, false
	}
	if !ss.dataReady("DATA") {
		return false, false
	}
	ss.reply(354, "", "End data with <CR><LF>.<CR><LF>")
	if err := ss.w.Flush(); err != nil {
		return false, true
	}
	ss.dc.SetReadTimeout(orDur(ss.srv.DataTimeout, DefaultTimeout))
	dr := smtpwire.NewDataReader(ss.r)
	dr.MaxSize = ss.srv.maxMessageBytes()
	if ss.srv.RejectBareLF {
		dr.BareLF = smtpwire.BareLFReject
	}
	env := ss.envelope(false)
	ec, err := ss.deliver(env, dr)
	if derr := dr.Discard(); derr != nil {
		ss.lost(derr)
		return false, true
	}
	tooBig := dr.TooBig()
	bare := dr.SawBareLF() && ss.srv.RejectBareLF
	return ss.finish("DATA", env, ec, err, tooBig, bare), false
}
