package smtp

import (
	"math"
	"reflect"
	"time"

	"github.com/yubinmail/yubin/restrict"
)

// sessionLimits are the tarpit limits and the pipelining policy of one
// session, resolved from the Server's fields, the Policy's Params and
// Postfix's defaults when the session starts (so a Policy swapped by a
// reload applies to the next session).
type sessionLimits struct {
	hard, soft, junk, overshoot int
	rcpts                       int // MaxRecipients
	sleep                       time.Duration
	forbidPipelining            bool
}

// cachedLimits remembers the limits resolved for one Params map, so a
// session does not expand main.cf values at every connection.
type cachedLimits struct {
	params uintptr // the map's identity; 0 when the Policy has no Params
	lim    sessionLimits
}

// sessionLimits returns the limits for a new session.
func (s *Server) sessionLimits() sessionLimits {
	p, ok := s.policyParams()
	var id uintptr
	if ok && p != nil {
		id = reflect.ValueOf(p).Pointer()
	}
	if c := s.limits.Load(); c != nil && c.params == id {
		return c.lim
	}
	lim := s.resolveLimits(p, ok)
	s.limits.Store(&cachedLimits{params: id, lim: lim})
	return lim
}

// resolveLimits applies the precedence: a non-zero field, then the
// Params (a value below Postfix's minimum is ignored), then the default.
func (s *Server) resolveLimits(p restrict.Params, hasParams bool) sessionLimits {
	pick := func(field int, param string, def, min int) int {
		switch {
		case field > 0:
			return field
		case field < 0:
			return -1
		case hasParams:
			if v := p.Int(param); v >= int64(min) && v <= math.MaxInt32 {
				return int(v)
			}
		}
		return def
	}
	lim := sessionLimits{
		hard:      pick(s.MaxErrors, "smtpd_hard_error_limit", DefaultMaxErrors, 1),
		soft:      pick(s.SoftErrorLimit, "smtpd_soft_error_limit", DefaultSoftErrorLimit, 1),
		junk:      pick(s.MaxJunkCommands, "smtpd_junk_command_limit", DefaultMaxJunkCommands, 1),
		overshoot: pick(s.MaxRecipientOvershoot, "smtpd_recipient_overshoot_limit", DefaultMaxRecipientOvershoot, 0),
		rcpts:     pick(s.MaxRecipients, "smtpd_recipient_limit", DefaultMaxRecipients, 0),
	}
	if lim.rcpts <= 0 { // smtpd_recipient_limit = 0: no limit
		lim.rcpts = math.MaxInt
	}
	if lim.hard < 0 {
		lim.hard = math.MaxInt
	}
	if lim.soft < 0 {
		lim.soft = math.MaxInt
	}
	if lim.junk < 0 {
		lim.junk = math.MaxInt
	}
	if lim.overshoot < 0 {
		lim.overshoot = 0
	}
	switch {
	case s.ErrorSleep > 0:
		lim.sleep = s.ErrorSleep
	case s.ErrorSleep < 0:
	case hasParams:
		if _, set := p.Lookup("smtpd_error_sleep_time"); set {
			lim.sleep = max(p.Duration("smtpd_error_sleep_time"), 0)
			break
		}
		lim.sleep = DefaultErrorSleep
	default:
		lim.sleep = DefaultErrorSleep
	}
	switch {
	case s.ForbidUnauthPipelining:
		lim.forbidPipelining = true
	case s.AllowUnauthPipelining:
	case hasParams:
		lim.forbidPipelining = p.Bool("smtpd_forbid_unauth_pipelining")
	default:
		lim.forbidPipelining = true
	}
	return lim
}

// junkCommand reports the commands Postfix's smtpd counts against
// smtpd_junk_command_limit: those a client can repeat without end and
// without a tarpit delay of their own (ETRN is not implemented here).
func junkCommand(verb string) bool {
	switch verb {
	case "HELO", "EHLO", "RSET", "NOOP", "VRFY":
		return true
	}
	return false
}

// countCommand does the tarpit's accounting after a command, as Postfix's
// smtpd_proto does: a failed command is an error, and so is each junk
// command past the junk limit.
func (ss *session) countCommand(verb string, ok bool) {
	if !ok {
		ss.errors++
	}
	if junkCommand(verb) {
		if ss.junk > ss.lim.junk {
			ss.errors++
		}
		ss.junk++
	}
}

// delivered forgives the session's errors and junk commands: a client
// that delivers mail is not a run-away one.
func (ss *session) delivered() {
	ss.errors = 0
	ss.junk = 0
}

// tooManyErrors ends a session that reached the hard error limit.
func (ss *session) tooManyErrors() {
	ss.reply(421, "4.7.0", ss.srv.hostname()+" Error: too many errors")
	ss.w.Flush()
	ss.srv.logger().Info("too many errors after "+ss.lastVerbOr()+" from "+ss.clientStr, "service", ss.info.Service)
}

// tarpit delays a reply once the session is past the soft error limit
// (smtpd_error_sleep_time) and reports whether it did, in which case the
// reply is flushed at once.
func (ss *session) tarpit() bool {
	if ss.errors < ss.lim.soft || ss.lim.sleep <= 0 {
		return false
	}
	t := time.NewTimer(ss.lim.sleep)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ss.ctx.Done():
	}
	return true
}
