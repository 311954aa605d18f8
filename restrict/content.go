package restrict

import (
	"context"
	"strings"
)

// CheckHeaders applies header_checks to each header line in order, as
// Postfix's cleanup(8) does, and returns the combined outcome: the first
// REJECT or DEFER ends the check; DISCARD and HOLD set the action; WARN and
// INFO add log lines; PASS turns later checks off (in a ContentScan);
// PREPEND adds a header line right before the one
// that matched (HeaderPrepends says which; the texts are also in
// Prepend); REPLACE and IGNORE are returned as HeaderEdits; FILTER and
// REDIRECT set those fields. As in cleanup, PREPEND and REPLACE text that
// is not a header line ("Name: value") is logged and ignored. Unknown
// actions (DEFER among them, as in Postfix 3.7's cleanup) are logged and
// ignored.
//
// A REJECT without text answers "550 5.7.1 message content rejected",
// Postfix's exact text; text may start with an enhanced status code, and
// one of class 4 defers the message with 451, as cleanup does.
func (p *Policy) CheckHeaders(ctx context.Context, hdrs []HeaderLine) (Decision, error) {
	var d Decision
	if p.headerChecks == nil {
		return d, nil
	}
	for i, h := range hdrs {
		line := h.String()
		v, ok, err := p.headerChecks.find(ctx, line, false)
		if err != nil {
			return Decision{Action: Defer, Code: 451, Enhanced: "4.3.0", Text: "Temporary lookup failure"}, err
		}
		if !ok {
			continue
		}
		if p.contentAction(&d, v, "header", line, i) {
			return d, nil
		}
	}
	return d, nil
}

// CheckBody applies body_checks to one body line (without its line
// ending); the caller stops after body_checks_size_limit bytes. A PREPEND
// line (in Prepend) goes right before the body line checked.
func (p *Policy) CheckBody(ctx context.Context, line string) (Decision, error) {
	var d Decision
	if p.bodyChecks == nil {
		return d, nil
	}
	v, ok, err := p.bodyChecks.find(ctx, line, false)
	if err != nil {
		return Decision{Action: Defer, Code: 451, Enhanced: "4.3.0", Text: "Temporary lookup failure"}, err
	}
	if ok {
		p.contentAction(&d, v, "body", line, -1)
	}
	return d, nil
}

// contentAction applies one header/body_checks result to d; it reports
// whether the check must stop.
func (p *Policy) contentAction(d *Decision, value, what, line string, index int) bool {
	cmd, text := value, ""
	if i := strings.IndexAny(value, " \t"); i >= 0 {
		cmd, text = value[:i], strings.TrimLeft(value[i:], " \t")
	}
	shown := printable(line)
	if len(shown) > 100 {
		shown = shown[:100]
	}
	logLine := func(kind string) {
		l := kind + ": " + what + " " + shown
		if text != "" {
			l += ": " + text
		}
		// The caller logs it with the queue ID and envelope, as
		// cleanup does (smtp logs Decision.Warnings): one line per
		// result.
		d.Warnings = append(d.Warnings, l)
	}
	switch strings.ToUpper(cmd) {
	case "REJECT":
		dsn, t := dsnSplit("5.7.1", text)
		if t == "" {
			t = "message content rejected"
		}
		// As cleanup: a reason that does not start with 4 or 5 is
		// made 4 (and logged), and a 4 defers the message (451).
		if dsn[0] != '4' && dsn[0] != '5' {
			p.log.Warn("bad DSN action in " + text + " -- need 4.x.x or 5.x.x")
			dsn = "4" + dsn[1:]
		}
		if dsn[0] == '4' {
			d.Action, d.Code, d.Enhanced, d.Text = Defer, 451, dsn, printable(t)
		} else {
			d.Action, d.Code, d.Enhanced, d.Text = Reject, 550, dsn, printable(t)
		}
		logLine("reject")
		return true
	case "DISCARD":
		d.Action = Discard
		logLine("discard")
		return true
	case "HOLD":
		if d.Action != Discard {
			d.Action = Hold
		}
		logLine("hold")
	case "WARN":
		logLine("warning")
	case "INFO":
		logLine("info")
	case "PREPEND":
		switch {
		case text == "":
			p.log.Warn("PREPEND action without text", "map", what+"_checks")
		case index >= 0 && !isHeader(text):
			p.log.Warn("bad PREPEND header text; need \"headername: headervalue\"", "text", text, "map", what+"_checks")
		default:
			d.Prepend = append(d.Prepend, text)
			if index >= 0 {
				d.HeaderPrepends = append(d.HeaderPrepends, HeaderPrepend{Index: index, Text: text})
			}
		}
	case "REPLACE":
		switch {
		case index < 0: // REPLACE is a header_checks action
		case text == "":
			p.log.Warn("REPLACE action without text", "map", what+"_checks")
		case !isHeader(text):
			p.log.Warn("bad REPLACE header text; need \"headername: headervalue\"", "text", text, "map", what+"_checks")
		default:
			d.HeaderEdits = append(d.HeaderEdits, HeaderEdit{Index: index, Replace: text})
		}
	case "STRIP":
		logLine("strip")
		if index >= 0 {
			d.HeaderEdits = append(d.HeaderEdits, HeaderEdit{Index: index, Delete: true})
		}
	case "IGNORE":
		if index >= 0 {
			d.HeaderEdits = append(d.HeaderEdits, HeaderEdit{Index: index, Delete: true})
		}
	case "FILTER":
		if strings.Contains(text, ":") {
			d.Filter = text
		}
	case "REDIRECT":
		if strings.Contains(text, "@") {
			d.Redirect = text
		}
	case "PASS":
		logLine("pass")
	case "DUNNO", "OK":
	default:
		p.log.Warn("unknown content check action", "action", cmd)
	}
	return false
}
