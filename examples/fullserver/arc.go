package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
	"github.com/yubinmail/yubin/queue"
)

// arcParams are the ARC (RFC 8617) settings: which sealers' word may
// excuse a DMARC failure, and whether this host seals mail it receives
// so that its results survive a later forward (an alias, a .forward, a
// Sieve redirect, a list).
var arcParams = []config.Param{
	{Name: "arc_trusted_sealers", Default: "", Kind: config.List, Doc: "ARC sealers (ARC-Seal d= domains, such as a mailing list host) whose recorded dmarc=pass excuses a DMARC failure when their ARC chain validates; empty: ARC is checked and reported only, as OpenDMARC does by default"},
	{Name: "arc_sealing", Default: "no", Kind: config.Bool, Doc: "yes: add an ARC set (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal) to mail checked on arrival (msgauth_inbound_checks) when it leaves again through the smtp or relay transport (an alias or virtual entry to another host, a Sieve redirect, relaying), signed with the first DKIM key of arc_seal_domain, so that the next host can trust this host's results"},
	{Name: "arc_seal_domain", Default: "$mydomain", Doc: "the domain whose DKIM key (dkim_keys or the OpenDKIM tables) seals ARC sets"},
}

// newARCSealer returns the sealer for arc_sealing, nil when it is off.
func newARCSealer(v *config.Config, keys msgauth.KeyStore, authservID string) (*msgauth.ARCSealer, error) {
	if !v.Bool("arc_sealing") {
		return nil, nil
	}
	d := strings.ToLower(v.Get("arc_seal_domain"))
	var ks []*msgauth.Key
	if keys != nil {
		ks = keys.SigningKeys("postmaster@" + d)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("arc_sealing: no DKIM key for arc_seal_domain %s (dkim_keys or dkim_key_table)", d)
	}
	return &msgauth.ARCSealer{Key: ks[0], AuthservID: authservID}, nil
}

// arcSealTransport seals mail this host checked on arrival as it leaves
// again through the smtp and relay transports (RFC 8617 section 5.1: the
// intermediary seals what it forwards): an alias or virtual entry
// pointing elsewhere, a Sieve redirect, relaying. Mail delivered here,
// and mail from trusted clients (which carries no Authentication-Results
// of this host), goes unsealed.
type arcSealTransport struct {
	next     queue.Transport
	sealer   *msgauth.ARCSealer
	verifier *msgauth.Verifier
}

// arcForwarding wraps the SMTP transport with ARC sealing when
// arc_sealing is on.
func (h *host) arcForwarding(v *config.Config, t queue.Transport) (queue.Transport, error) {
	if !v.Bool("arc_sealing") {
		return t, nil
	}
	if !v.Bool("msgauth_inbound_checks") {
		// Only checked mail is cleaned of forged Authentication-Results
		// of this host: without the checks there is nothing to seal.
		h.log.Warn("arc_sealing = yes needs msgauth_inbound_checks = yes: ARC sealing is off")
		return t, nil
	}
	keys, err := loadDKIMKeys(v)
	if err != nil {
		return nil, err
	}
	sealer, err := newARCSealer(v, keys, v.Get("authserv_id"))
	if err != nil {
		return nil, err
	}
	sealer.Logger = h.log
	ver := &msgauth.Verifier{Resolver: msgauthResolver(v), Logger: h.log, KeyCache: &msgauth.KeyCache{TTL: time.Minute}}
	return &arcSealTransport{next: t, sealer: sealer, verifier: ver}, nil
}

// Deliver seals the message when it is one this host checked on arrival,
// then hands it to the SMTP transport.
func (t *arcSealTransport) Deliver(ctx context.Context, d *queue.Delivery) []queue.Result {
	set, err := t.sealer.SealForwarded(ctx, t.verifier, d.Open)
	switch {
	case errors.Is(err, msgauth.ErrNotChecked):
	case err != nil:
		d.Logger.Warn(fmt.Sprintf("%s: arc: not sealed: %v", d.Envelope.ID, err))
	case set != "":
		cv := "none"
		if m := sealCV.FindStringSubmatch(set); m != nil {
			cv = m[1]
		}
		d.Logger.Info(fmt.Sprintf("%s: ARC set added (cv=%s)", d.Envelope.ID, cv))
		sealed := *d
		open := d.Open
		sealed.Open = func() (io.ReadCloser, error) {
			r, err := open()
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.MultiReader(strings.NewReader(set), r), r}, nil
		}
		sealed.Size += int64(len(set))
		d = &sealed
	}
	return t.next.Deliver(ctx, d)
}

// sealCV finds the cv= of the ARC-Seal a set starts with, for the log.
var sealCV = regexp.MustCompile(`cv=(\w+)`)

// Close closes the SMTP transport's kept connections.
func (t *arcSealTransport) Close() error {
	if c, ok := t.next.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
