package sieve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Envelope is the SMTP/LMTP envelope of the delivery being filtered.
type Envelope struct {
	// From is the reverse path, "" for the null sender <>.
	From string
	// To is the recipient being delivered to; OrigTo its ORCPT, if any.
	To     string
	OrigTo string
	// Auth is the authenticated submitter (envelope "auth"), if any.
	Auth string
}

// Env is everything a run sees besides the message: the envelope, the
// user's context and the trackers. The zero Env is usable.
type Env struct {
	Envelope Envelope
	// UserAddresses are the recipient's own addresses: vacation replies
	// only when one of them (or :addresses) is in To, Cc or Bcc.
	UserAddresses []string
	// Now is the current time for currentdate and tracking (zero: time.Now).
	Now time.Time
	// Location is the time zone for date tests without :zone (nil: Local).
	Location *time.Location
	// Environment holds the environment extension's items (RFC 5183);
	// unset standard items get Pigeonhole's defaults.
	Environment map[string]string
	// SubaddressSeparator is recipient_delimiter (default "+").
	SubaddressSeparator string
	// DefaultMailbox is where keep stores ("" means INBOX).
	DefaultMailbox string
	Mailboxes      MailboxChecker
	Tracker        Tracker
	// SpamTest and VirusTest are the spamtest/virustest values (RFC 5235)
	// computed by the caller from its configured headers: "0" for not
	// tested, "1".."10"; SpamTestPercent is "0".."100" for :percent. ""
	// means "0".
	SpamTest, SpamTestPercent, VirusTest string
	// Logger gets run-time failures; nil discards them.
	Logger *slog.Logger
}

// flow is how a block ended.
type flow int

const (
	flowNext flow = iota
	flowStop
	flowReturn
)

// runtimeError is a failure during a run.
type runtimeError struct {
	pos Pos
	msg string
}

func (e *runtimeError) Error() string {
	return fmt.Sprintf("line %d: error: %s", e.pos.Line, e.msg)
}

// ErrLimit wraps run-time failures from a resource limit.
var ErrLimit = errors.New("sieve: resource limit exceeded")

type scope struct {
	vars    map[string]string
	globals map[string]bool
}

type run struct {
	ctx      context.Context
	env      *Env
	msg      *Message
	headers  []Header
	edited   bool
	res      *Result
	limits   Limits
	deadline time.Time
	now      time.Time

	flags     []string
	globals   map[string]string
	matchVars []string
	steps     int
	redirects int
	vacation  bool
	cancelled bool // implicit keep cancelled
	onceDone  map[*Script]bool
	script    *Script
	sc        *scope
	addrCache map[string]addrEntry
}

// Run runs the script against msg and env and returns the actions.
// It never fails: a run-time error drops the script's actions, keeps
// the implicit keep and is reported in Result.Err (and logged).
func (s *Script) Run(ctx context.Context, msg *Message, env *Env) *Result {
	return RunScripts(ctx, msg, env, s)
}

// RunScripts runs a sequence of scripts as Pigeonhole runs
// sieve_before, the user's script and sieve_after: each next script
// runs only while the implicit keep is still in effect (or an explicit
// keep was done); their actions add up; an error stops the sequence
// with what the earlier scripts decided plus the implicit keep.
func RunScripts(ctx context.Context, msg *Message, env *Env, scripts ...*Script) *Result {
	if env == nil {
		env = &Env{}
	}
	r := &run{ctx: ctx, env: env, msg: msg, headers: msg.headers, res: &Result{}, globals: map[string]string{},
		onceDone: map[*Script]bool{}}
	r.now = env.Now
	if r.now.IsZero() {
		r.now = time.Now()
	}
	for i, s := range scripts {
		if s == nil {
			continue
		}
		if i > 0 && r.cancelled && !r.hasKeep() {
			break
		}
		r.limits = s.limits
		r.deadline = time.Now().Add(s.limits.MaxCPUTime)
		saved := *r.res
		savedFlags := r.flags
		savedCancel := r.cancelled
		savedHeaders, savedEdited := r.headers, r.edited
		err := r.runScript(s)
		if err != nil {
			*r.res = saved
			r.flags = savedFlags
			r.cancelled = savedCancel
			r.headers, r.edited = savedHeaders, savedEdited
			r.cancelled = false
			r.res.Err = err
			if env.Logger != nil {
				env.Logger.Warn("sieve: run-time error, falling back to implicit keep",
					"script", s.Name, "err", err)
			}
			break
		}
	}
	r.res.ImplicitKeep = !r.cancelled
	if r.res.ImplicitKeep {
		r.res.KeepFlags = r.flags
	}
	if r.edited {
		r.res.Header = r.headers
	}
	return r.res
}

func (r *run) hasKeep() bool {
	for _, a := range r.res.Actions {
		if a.Kind == ActKeep {
			return true
		}
	}
	return false
}

func (r *run) runScript(s *Script) (err error) {
	prevScript, prevScope := r.script, r.sc
	r.script = s
	r.sc = &scope{vars: map[string]string{}, globals: map[string]bool{}}
	defer func() { r.script, r.sc = prevScript, prevScope }()
	_, err = r.block(s.cmds)
	return err
}

func (r *run) fail(p Pos, format string, args ...any) error {
	return &runtimeError{pos: p, msg: fmt.Sprintf(format, args...)}
}

func (r *run) step(p Pos) error {
	r.steps++
	if r.steps > r.limits.MaxSteps {
		return fmt.Errorf("%w: %v", ErrLimit, r.fail(p, "too many commands executed"))
	}
	if r.steps%64 == 0 {
		if time.Now().After(r.deadline) {
			return fmt.Errorf("%w: %v", ErrLimit, r.fail(p, "execution exceeded CPU time limit"))
		}
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) block(cmds []*call) (flow, error) {
	for _, c := range cmds {
		f, err := r.command(c)
		if err != nil || f != flowNext {
			return f, err
		}
	}
	return flowNext, nil
}

func (r *run) command(c *call) (flow, error) {
	if err := r.step(c.pos); err != nil {
		return flowStop, err
	}
	switch c.name {
	case "if":
		ok, err := r.test(c.tests[0])
		if err != nil {
			return flowStop, err
		}
		if ok {
			return r.block(c.block)
		}
		for _, e := range c.elses {
			if e.name == "else" {
				return r.block(e.block)
			}
			ok, err := r.test(e.tests[0])
			if err != nil {
				return flowStop, err
			}
			if ok {
				return r.block(e.block)
			}
		}
		return flowNext, nil
	case "stop":
		return flowStop, nil
	case "return":
		return flowReturn, nil
	case "include":
		if c.inc == nil { // :optional and missing
			return flowNext, nil
		}
		if c.has("once") && r.onceDone[c.inc] {
			return flowNext, nil
		}
		r.onceDone[c.inc] = true
		prevMV := r.matchVars
		prevScript, prevScope := r.script, r.sc
		r.script = c.inc
		r.sc = &scope{vars: map[string]string{}, globals: map[string]bool{}}
		f, err := r.block(c.inc.cmds)
		r.script, r.sc = prevScript, prevScope
		r.matchVars = prevMV
		if err != nil || f == flowStop {
			return flowStop, err
		}
		return flowNext, nil
	case "global":
		for _, v := range c.args[0].strs {
			r.sc.globals[strings.ToLower(v)] = true
		}
		return flowNext, nil
	}
	return flowNext, r.action(c)
}
