package main

import (
	"context"
	"io"
	"strings"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/queue"
)

// savedTo returns the queue's LocalTransport.SavedTo for the mail
// locations of c: "delivered to mailbox" for mbox (as Postfix's local(8)
// says of a spool file), "sdbox" for users whose mail location is sdbox,
// "maildir" for the others.
func savedTo(c *config.Config, deliver lmtp.Deliverer) func(ctx context.Context, rcpt string) string {
	if isMboxLocation(mailLocationOf(c)) {
		return func(context.Context, string) string { return "mailbox" }
	}
	var inner *lmtp.StoreDeliverer
	switch d := deliver.(type) {
	case *sieveDeliverer:
		inner = d.inner
	case *lmtp.StoreDeliverer:
		inner = d
	}
	if inner == nil || inner.Users == nil {
		return nil
	}
	return func(ctx context.Context, rcpt string) string {
		u, err := inner.Users.LookupUser(ctx, userNameOf(rcpt, inner.Delimiter))
		if err == nil && strings.HasPrefix(userMailLocation(u), "sdbox:") {
			return "sdbox"
		}
		return "maildir"
	}
}

// userNameOf is the user a recipient address is looked up as, the way
// lmtp.StoreDeliverer does: the local part without its extension, and
// the domain, in lower case.
func userNameOf(rcpt, delim string) string {
	local, domain := rcpt, ""
	if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
		local, domain = rcpt[:i], rcpt[i+1:]
	}
	if delim == "" {
		delim = "+"
	}
	if i := strings.IndexAny(local, delim); i > 0 {
		local = local[:i]
	}
	name := strings.ToLower(local)
	if domain != "" {
		name += "@" + strings.ToLower(domain)
	}
	return name
}

// DeliverSaved implements queue.SavingDeliverer: Deliver, and what the
// copy was saved into, from the user Deliver looked up (the log line
// needs no lookup of its own).
func (d *sieveDeliverer) DeliverSaved(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) (string, error) {
	u, err := d.deliver(ctx, env, rcpt, msg)
	if err != nil || u == nil {
		return "", err
	}
	switch {
	case d.mbox:
		return "mailbox", nil
	case strings.HasPrefix(userMailLocation(u), "sdbox:"):
		return "sdbox", nil
	}
	return "maildir", nil
}

var _ queue.SavingDeliverer = (*sieveDeliverer)(nil)
