package restrict

import (
	"fmt"
	"strconv"
)

// Action is the outcome of a restriction.
type Action int

const (
	// Dunno means no decision: the next restriction (or stage) decides.
	// A whole list that ends with Dunno means the request is allowed.
	Dunno Action = iota
	// Permit accepts the request at this stage.
	Permit
	// Reject refuses the request with a 5xx (or configured) code.
	Reject
	// Defer refuses the request with a 4xx code.
	Defer
	// Discard accepts the message and then throws it away.
	Discard
	// Hold accepts the message and places it on hold.
	Hold
	// Warn accepts but logs a warning (WARN action, warn_if_reject).
	Warn
)

var actionNames = [...]string{"DUNNO", "PERMIT", "REJECT", "DEFER", "DISCARD", "HOLD", "WARN"}

// String returns the action's upper-case Postfix name ("REJECT").
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is what Postfix would answer to the request.
type Decision struct {
	// Action is the outcome.
	Action Action
	// Code is the SMTP reply code for Reject and Defer (554, 450, ...),
	// zero otherwise.
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("5.7.1"), "" when
	// none applies.
	Enhanced string
	// Text is the full reply text after the codes, e.g.
	// "<x@y>: Relay access denied".
	Text string
	// Warnings are log lines for warn_if_reject and WARN results, such as
	// "reject_warning: RCPT from ...".
	Warnings []string
	// Prepend holds header lines that PREPEND actions ask to add.
	Prepend []string
	// Redirect is the address of a REDIRECT action, "" when none.
	Redirect string
	// Filter is the transport:destination of a FILTER action, "" when none.
	Filter string
	// HeaderEdits are REPLACE and IGNORE results of header_checks, by
	// index into Request.Header (or the slice given to CheckHeaders).
	HeaderEdits []HeaderEdit
	// HeaderPrepends are the PREPEND results of header_checks, by index
	// into Request.Header (or the slice given to CheckHeaders): as in
	// Postfix's cleanup, each line goes right before the header line it
	// matched. Their texts are in Prepend as well, for callers that
	// check one header line at a time or put every line on top.
	HeaderPrepends []HeaderPrepend
	// Restriction names the restriction that decided ("reject_unauth_destination",
	// "check_sender_access hash:/etc/postfix/access"), for logging.
	Restriction string
}

// String formats the decision as an SMTP reply line ("554 5.7.1 <x@y>:
// Relay access denied") for Reject and Defer, and as the action name
// otherwise.
func (d Decision) String() string {
	if d.Code == 0 {
		return d.Action.String()
	}
	if d.Enhanced == "" {
		return fmt.Sprintf("%d %s", d.Code, d.Text)
	}
	return fmt.Sprintf("%d %s %s", d.Code, d.Enhanced, d.Text)
}

// Refused reports whether the client must be refused (Reject or Defer).
func (d Decision) Refused() bool { return d.Action == Reject || d.Action == Defer }

// HeaderEdit changes one header line as header_checks asked.
type HeaderEdit struct {
	// Index is the position of the header line in the slice checked.
	Index int
	// Delete removes the line (IGNORE).
	Delete bool
	// Replace is the replacement line (REPLACE), "" when Delete.
	Replace string
}

// HeaderPrepend is a header line that a header_checks PREPEND adds right
// before the header line it matched.
type HeaderPrepend struct {
	// Index is the position of the matched header line in the slice
	// checked.
	Index int
	// Text is the line to insert ("X-Partner: yes"), without line ending.
	Text string
}
