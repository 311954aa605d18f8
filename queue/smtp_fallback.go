package queue

// smtp_fallback_relay: the destinations tried after the nexthop itself.
//
// Postfix 3.7's smtp(8) (smtp_connect_inet) appends the fallback relays
// to the nexthop list and walks the list while recipients are left:
//
//   - a recipient that a server refused with a 5xx is done (bounced);
//     one deferred by a 4xx or a connection failure goes on to the next
//     destination, and so does one whose destination was not found in
//     DNS ("Don't give up after a hard host lookup error until we have
//     tried the fallback relay servers");
//   - no further destination is tried when this host is one of the
//     nexthop's MX hosts (a backup MX: the fallback would loop) or when
//     mail for it loops back to myself;
//   - a fallback relay that cannot be found defers the mail with 4.3.5
//     and a warning "smtp_fallback_relay configuration problem" rather
//     than bounce it.
//
// This applies to relayhost mail as well: Postfix puts no exception
// for it (master.cf's "-o smtp_fallback_relay=" on a transport turns it
// off, here an SMTPTransport without FallbackRelay).

import (
	"context"
	"time"
)

// nexthopOutcome is what deliverNexthop tells deliverSites.
type nexthopOutcome struct {
	lookup bool // the destination was not found: the results are the lookup's
	final  bool // try no further destination (I am MX, or mail loops)
}

// deliverSites delivers to pending through the nexthops of list, then
// through FallbackRelay, each for the recipients the ones before left
// (deferred, or not found).
func (t *SMTPTransport) deliverSites(ctx context.Context, d *Delivery, list []string, pending []int, results []Result, start time.Time) {
	primary := len(list)
	sites := list
	if len(t.FallbackRelay) > 0 {
		sites = append(append(make([]string, 0, len(list)+len(t.FallbackRelay)), list...), t.FallbackRelay...)
		sites = sites[:min(len(sites), primary+maxSMTPNexthops)]
	}
	for k, nh := range sites {
		out := t.deliverNexthop(ctx, d, nh, pending, results, start)
		last := k == len(sites)-1 || out.final
		if out.lookup && k >= primary {
			t.fallbackProblem(d, pending, results)
		}
		var again []int
		for _, i := range pending {
			r := results[i]
			if r.Status == Deferred || !last && out.lookup && r.Status == Bounced {
				again = append(again, i)
			}
		}
		if pending = again; len(pending) == 0 || last || ctx.Err() != nil {
			break
		}
	}
}

// fallbackProblem turns a fallback relay's lookup failure into a
// deferral, as Postfix does: "smtp_fallback_relay configuration
// problem", 4.3.5, the diagnostic kept.
func (t *SMTPTransport) fallbackProblem(d *Delivery, pending []int, results []Result) {
	warned := false
	for _, i := range pending {
		r := &results[i]
		if r.Status != Bounced {
			continue
		}
		if !warned {
			t.logger(d).Warn("smtp_fallback_relay configuration problem", "queue_id", d.Envelope.ID, "reason", r.Text)
			warned = true
		}
		r.Status, r.DSN = Deferred, "4.3.5"
	}
}
