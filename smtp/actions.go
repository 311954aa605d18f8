package smtp

import (
	"strings"

	"github.com/yubinmail/yubin/restrict"
)

// Actions are what the restrictions asked for a message besides
// accepting or refusing it. In Postfix, cleanup(8) and the queue
// manager act on them; here the Session does, from Envelope.Actions.
// They come from access tables and policy services at every stage, and
// from header_checks and body_checks; those of the content checks are
// filled in while the message is read, so a Session looks at them after
// the message reader has returned io.EOF.
type Actions struct {
	// Hold asks that the message be kept, not delivered, until an
	// administrator releases it (HOLD: Postfix's hold queue).
	Hold bool
	// Redirect is the one address the message goes to instead of its
	// recipients (REDIRECT); the last REDIRECT wins, as in Postfix.
	Redirect string
	// Filter is the transport:destination the message is handed to
	// instead of its delivery (FILTER); the last FILTER wins.
	Filter string
}

// apply records the actions of a decision that let the message go on.
func (a *Actions) apply(d restrict.Decision) {
	if d.Action == restrict.Hold {
		a.Hold = true
	}
	if d.Redirect != "" {
		a.Redirect = d.Redirect
	}
	if d.Filter != "" {
		a.Filter = d.Filter
	}
}

// merge returns a with b's actions on top (b came later).
func (a Actions) merge(b Actions) Actions {
	a.Hold = a.Hold || b.Hold
	if b.Redirect != "" {
		a.Redirect = b.Redirect
	}
	if b.Filter != "" {
		a.Filter = b.Filter
	}
	return a
}

// stageActions are the actions and PREPEND header lines gathered at one
// level of the session: the connection, the last HELO, the transaction.
type stageActions struct {
	act     Actions
	prepend []string
}

func (s *stageActions) add(d restrict.Decision) {
	s.act.apply(d)
	for _, l := range d.Prepend {
		s.prepend = append(s.prepend, strings.Map(noCRLF, l))
	}
}

// noteActions files the non-refusing decision d of stage where it
// belongs. (restrict's Decision.Warnings carry Postfix's log lines for
// them.)
func (ss *session) noteActions(stage restrict.Stage, d restrict.Decision) {
	if d.Action != restrict.Hold && d.Redirect == "" && d.Filter == "" && len(d.Prepend) == 0 {
		return
	}
	switch stage {
	case StageConnect:
		ss.connAct.add(d)
	case StageHelo:
		ss.heloAct.add(d)
	case StageEndOfData:
		// The header has been passed on already: PREPEND cannot apply
		// (Postfix ignores it there too).
		if ss.env != nil {
			ss.env.Actions.apply(d)
		}
	default:
		ss.txAct.add(d)
	}
}

// prependLines returns the PREPEND header lines for the message, in the
// order they were asked for, each ending in CRLF.
func (ss *session) prependLines() string {
	var b strings.Builder
	for _, s := range []*stageActions{&ss.connAct, &ss.heloAct, &ss.txAct} {
		for _, l := range s.prepend {
			b.WriteString(l + "\r\n")
		}
	}
	return b.String()
}
