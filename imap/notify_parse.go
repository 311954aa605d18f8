package imap

import "strings"

// NOTIFY's grammar (RFC 5465 8): the event groups of NOTIFY SET.

// Limits on what one NOTIFY SET may name.
const (
	maxNotifyGroups    = 50
	maxNotifyMailboxes = 200
)

// notifyFilter is the kind of mailbox set an event group applies to.
type notifyFilter int

const (
	filterSelected notifyFilter = iota + 1
	filterSelectedDelayed
	filterInboxes
	filterPersonal
	filterSubscribed
	filterSubtree
	filterMailboxes
)

// notifyEvents are the events one group asks for.
type notifyEvents struct {
	messageNew, messageExpunge, flagChange bool
	mailboxName, subscriptionChange        bool
	// fetch are MessageNew's fetch attributes (selected only).
	fetch []fetchItem
}

// any reports whether the group asks for anything (NONE does not).
func (e *notifyEvents) any() bool {
	return e.messageNew || e.mailboxName || e.subscriptionChange
}

// notifyGroup is one "(filter events)" of NOTIFY SET.
type notifyGroup struct {
	filter notifyFilter
	names  []string // subtree and mailboxes
	events notifyEvents
}

// notifySpec is a parsed NOTIFY command: none is NOTIFY NONE.
type notifySpec struct {
	none   bool
	status bool
	groups []notifyGroup
}

// unsupportedNotifyEvents are events RFC 5465 and RFC 5464 define that
// the server does not report: asking for them is NO [BADEVENT].
var unsupportedNotifyEvents = map[string]bool{
	"ANNOTATIONCHANGE": true, "MAILBOXMETADATACHANGE": true, "SERVERMETADATACHANGE": true,
}

// parseNotify reads NOTIFY's arguments up to the end of the line.
func (c *conn) parseNotify() (*notifySpec, error) {
	if err := c.r.sp(); err != nil {
		return nil, err
	}
	verb, err := c.r.atom()
	if err != nil {
		return nil, err
	}
	spec := &notifySpec{}
	switch strings.ToUpper(verb) {
	case "NONE":
		spec.none = true
		return spec, c.r.crlf()
	case "SET":
	default:
		return nil, badf("Invalid arguments.")
	}
	var badEvents []string
	seenSelected := false
	for n := 0; ; n++ {
		if eol, err := c.r.atEOL(); err != nil {
			return nil, err
		} else if eol {
			break
		}
		if err := c.r.sp(); err != nil {
			return nil, err
		}
		b, err := c.r.peek()
		if err != nil {
			return nil, err
		}
		if b != '(' {
			a, err := c.r.atom()
			if err != nil {
				return nil, err
			}
			if n != 0 || !strings.EqualFold(a, "STATUS") {
				return nil, badf("Invalid arguments.")
			}
			spec.status = true
			continue
		}
		if len(spec.groups) >= maxNotifyGroups {
			return nil, badf("Too many event groups.")
		}
		g, bad, err := c.notifyGroup()
		if err != nil {
			return nil, err
		}
		badEvents = append(badEvents, bad...)
		if g.filter == filterSelected || g.filter == filterSelectedDelayed {
			if seenSelected {
				return nil, badf("Duplicate selected filter.")
			}
			seenSelected = true
		}
		spec.groups = append(spec.groups, g)
	}
	if err := c.r.crlf(); err != nil {
		return nil, err
	}
	if len(badEvents) > 0 {
		return nil, no("BADEVENT "+strings.Join(badEvents, " "), "Unsupported NOTIFY events.")
	}
	return spec, nil
}

// notifyGroup reads "(" filter-mailboxes SP events ")" and returns the
// names of known but unsupported events apart.
func (c *conn) notifyGroup() (notifyGroup, []string, error) {
	var g notifyGroup
	if err := c.r.expect('(', "event group"); err != nil {
		return g, nil, err
	}
	f, err := c.r.atom()
	if err != nil {
		return g, nil, err
	}
	switch strings.ToUpper(f) {
	case "SELECTED":
		g.filter = filterSelected
	case "SELECTED-DELAYED":
		g.filter = filterSelectedDelayed
	case "INBOXES":
		g.filter = filterInboxes
	case "PERSONAL":
		g.filter = filterPersonal
	case "SUBSCRIBED":
		g.filter = filterSubscribed
	case "SUBTREE":
		g.filter = filterSubtree
	case "MAILBOXES":
		g.filter = filterMailboxes
	default:
		return g, nil, badf("Invalid arguments.")
	}
	if err := c.r.sp(); err != nil {
		return g, nil, err
	}
	if g.filter == filterSubtree || g.filter == filterMailboxes {
		b, err := c.r.peek()
		if err != nil {
			return g, nil, err
		}
		one := func() error {
			if len(g.names) >= maxNotifyMailboxes {
				return badf("Too many mailboxes.")
			}
			name, err := c.mailboxArg()
			g.names = append(g.names, name)
			return err
		}
		if b == '(' {
			err = c.r.list(one)
			if err == nil && len(g.names) == 0 {
				err = badf("Invalid arguments.")
			}
		} else {
			err = one()
		}
		if err == nil {
			err = c.r.sp()
		}
		if err != nil {
			return g, nil, err
		}
	}
	bad, err := c.notifyEventList(&g)
	if err != nil {
		return g, nil, err
	}
	return g, bad, c.r.expect(')', "end of event group")
}

// notifyEventList reads "NONE" or the parenthesised event list of a
// group and checks the combinations RFC 5465 5 requires.
func (c *conn) notifyEventList(g *notifyGroup) ([]string, error) {
	b, err := c.r.peek()
	if err != nil {
		return nil, err
	}
	if b != '(' {
		a, err := c.r.atom()
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(a, "NONE") {
			return nil, badf("Invalid arguments.")
		}
		return nil, nil
	}
	ev := &g.events
	var bad []string
	n := 0
	err = c.r.list(func() error {
		if n++; n > 20 {
			return badf("Too many events.")
		}
		a, err := c.r.atom()
		if err != nil {
			return err
		}
		switch up := strings.ToUpper(a); {
		case up == "MESSAGENEW":
			ev.messageNew = true
			if b, err := c.r.peek(); err != nil || b != ' ' {
				return err
			}
			// "MessageNew (fetch-att...)" or the next event.
			if err := c.r.sp(); err != nil {
				return err
			}
			if b, err := c.r.peek(); err != nil || b != '(' {
				if err == nil {
					err = c.notifyEventAfterSpace(ev, &bad)
				}
				return err
			}
			if g.filter != filterSelected && g.filter != filterSelectedDelayed {
				return badf("Invalid arguments.")
			}
			items, err := c.fetchItems()
			if err != nil {
				return err
			}
			ev.fetch = dedupItems(items)
			return nil
		default:
			return c.notifyEvent(up, a, ev, &bad)
		}
	})
	if err != nil {
		return nil, err
	}
	if ev.messageNew != ev.messageExpunge {
		return nil, badf("MessageNew and MessageExpunge must be together.")
	}
	if ev.flagChange && !ev.messageNew {
		return nil, badf("FlagChange requires MessageNew and MessageExpunge.")
	}
	if (g.filter == filterSelected || g.filter == filterSelectedDelayed) && (ev.mailboxName || ev.subscriptionChange) {
		return nil, badf("Mailbox events are not for the selected mailbox.")
	}
	return bad, nil
}

// notifyEventAfterSpace reads one event that followed "MessageNew ".
func (c *conn) notifyEventAfterSpace(ev *notifyEvents, bad *[]string) error {
	a, err := c.r.atom()
	if err != nil {
		return err
	}
	if strings.EqualFold(a, "MessageNew") {
		ev.messageNew = true
		return nil
	}
	return c.notifyEvent(strings.ToUpper(a), a, ev, bad)
}

// notifyEvent records one event other than MessageNew.
func (c *conn) notifyEvent(up, a string, ev *notifyEvents, bad *[]string) error {
	switch up {
	case "MESSAGEEXPUNGE":
		ev.messageExpunge = true
	case "FLAGCHANGE":
		ev.flagChange = true
	case "MAILBOXNAME":
		ev.mailboxName = true
	case "SUBSCRIPTIONCHANGE":
		ev.subscriptionChange = true
	default:
		if !unsupportedNotifyEvents[up] {
			return badf("Invalid arguments.")
		}
		*bad = append(*bad, a)
	}
	return nil
}
