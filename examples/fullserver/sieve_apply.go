package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/sieve"
	"github.com/yubinmail/yubin/store"
)

// apply carries out a Sieve result for one recipient. Storing comes
// first: a failure to store is the delivery's error (the message is
// retried or refused, never lost); a redirect or reply that cannot be
// queued is logged.
func (d *sieveDeliverer) apply(ctx context.Context, env *lmtp.Envelope, rcpt, user string, m *sieve.Message, res *sieve.Result) error {
	inbox := "INBOX"
	if hasJunkMarker(m.Raw()) { // a DMARC quarantine keeps into Junk (junk.go)
		inbox = d.junkBox()
	}
	if keepOnly(res) && inbox == "INBOX" {
		return d.inner.Deliver(ctx, env, rcpt, bytes.NewReader(m.Raw()))
	}
	body := m.Raw()
	if res.Header != nil {
		body = withHeader(res.Header, m)
	}
	for _, a := range res.Actions {
		if a.Kind == sieve.ActEreject {
			// LMTP can refuse this recipient: ereject does (RFC 5429
			// section 2.1).
			return &lmtp.Error{Code: 550, Enhanced: lmtp.Enhanced{5, 7, 1}, Message: "<" + rcpt + "> " + oneLine(a.Reason)}
		}
	}
	stored := false
	for _, a := range res.Actions {
		switch a.Kind {
		case sieve.ActKeep:
			if err := d.store(ctx, env, rcpt, user, inbox, a.Flags, inbox != "INBOX", body); err != nil {
				return err
			}
			stored = true
		case sieve.ActFileInto:
			if err := d.store(ctx, env, rcpt, user, a.Mailbox, a.Flags, a.Create, body); err != nil {
				return err
			}
			stored = true
		}
	}
	if res.ImplicitKeep {
		if err := d.store(ctx, env, rcpt, user, inbox, res.KeepFlags, inbox != "INBOX", body); err != nil {
			return err
		}
		stored = true
	}
	for _, a := range res.Actions {
		switch a.Kind {
		case sieve.ActRedirect:
			d.redirect(ctx, env, rcpt, user, a.Address, body)
		case sieve.ActVacation:
			d.vacation(ctx, env, rcpt, user, m, a.Vacation)
		case sieve.ActReject:
			d.reject(ctx, env, rcpt, user, m, a.Reason)
		case sieve.ActNotify:
			d.notify(ctx, rcpt, user, a.Notify)
		case sieve.ActDiscard:
			if !stored {
				d.log.Info("sieve: discarded", "user", user, "from", env.From)
			}
		}
	}
	return nil
}

// store appends the message to a mailbox of the user with flags, making
// the mailbox with :create; a missing mailbox without :create falls back
// to INBOX, as Pigeonhole's failed fileinto ends in the implicit keep.
func (d *sieveDeliverer) store(ctx context.Context, env *lmtp.Envelope, rcpt, user, box string, flags []string, create bool, msg []byte) error {
	if strings.EqualFold(box, "INBOX") {
		box = "INBOX"
	}
	if box == "INBOX" && len(flags) == 0 {
		return d.inner.Deliver(ctx, env, rcpt, bytes.NewReader(msg))
	}
	st, err := d.stores.Open(ctx, user)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := store.ValidateName(box); err != nil {
		d.log.Warn("sieve: fileinto: invalid mailbox name; stored in INBOX", "user", user, "mailbox", box)
		box = "INBOX"
	}
	opts := store.AppendOptions{Flags: storeFlags(flags), InternalDate: env.Received, NoSync: d.inner.NoSync}
	if ds, ok := st.(directDeliverer); ok {
		// The store delivers by mailbox name without loading a view
		// of the mailbox (maildir), as the LMTP deliverer does.
		opts.LateUID = true
		_, err = ds.Deliver(ctx, box, bytes.NewReader(msg), opts)
		if errors.Is(err, store.ErrNoSuchMailbox) && box != "INBOX" {
			if create {
				if cerr := st.CreateMailbox(ctx, box, store.CreateOptions{}); cerr != nil && !errors.Is(cerr, store.ErrMailboxExists) {
					return cerr
				}
			} else {
				d.log.Warn("sieve: fileinto: mailbox does not exist; stored in INBOX", "user", user, "mailbox", box)
				box = "INBOX"
			}
			_, err = ds.Deliver(ctx, box, bytes.NewReader(msg), opts)
		}
		if err == nil {
			d.log.Info(fmt.Sprintf("sieve: stored mail into mailbox '%s'", box), "user", user)
		}
		return err
	}
	mb, err := st.OpenMailbox(ctx, box, store.OpenOptions{})
	if errors.Is(err, store.ErrNoSuchMailbox) && box != "INBOX" {
		if create {
			if cerr := st.CreateMailbox(ctx, box, store.CreateOptions{}); cerr != nil && !errors.Is(cerr, store.ErrMailboxExists) {
				return cerr
			}
			mb, err = st.OpenMailbox(ctx, box, store.OpenOptions{})
		} else {
			d.log.Warn("sieve: fileinto: mailbox does not exist; stored in INBOX", "user", user, "mailbox", box)
			box = "INBOX"
			mb, err = st.OpenMailbox(ctx, box, store.OpenOptions{})
		}
	}
	if err != nil {
		return err
	}
	defer mb.Close()
	_, err = mb.Append(ctx, bytes.NewReader(msg), opts)
	if err == nil {
		d.log.Info(fmt.Sprintf("sieve: stored mail into mailbox '%s'", box), "user", user)
	}
	return err
}

// storeFlags converts Sieve flag names to store flags.
func storeFlags(fs []string) store.Flags {
	var f store.Flags
	for _, n := range fs {
		if sf, ok := store.ParseSystemFlag(n); ok {
			f.System |= sf
			continue
		}
		if strings.HasPrefix(n, `\`) || !validKeyword(n) {
			continue
		}
		f.Keywords = append(f.Keywords, n)
	}
	return f
}

// validKeyword: an IMAP atom without atom-specials.
func validKeyword(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// withHeader rebuilds a message with an edited header (editheader).
func withHeader(hs []sieve.Header, m *sieve.Message) []byte {
	var b bytes.Buffer
	for _, h := range hs {
		b.WriteString(h.Name)
		b.WriteString(":")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	raw := m.Raw()
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		b.Write(raw[i+4:])
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		b.Write(raw[i+2:])
	}
	return b.Bytes()
}

func oneLine(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

// directDeliverer is implemented by stores that append to a mailbox by
// name without a session handle (maildir.Store.Deliver).
type directDeliverer interface {
	Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error)
}
