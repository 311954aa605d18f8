package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
)

// arcParams are the ARC (RFC 8617) settings: which sealers' word may
// excuse a DMARC failure, and whether this host seals mail it receives
// so that its results survive a later forward (an alias, a .forward, a
// Sieve redirect, a list).
var arcParams = []config.Param{
	{Name: "arc_trusted_sealers", Default: "", Kind: config.List, Doc: "ARC sealers (ARC-Seal d= domains, such as a mailing list host) whose recorded dmarc=pass excuses a DMARC failure when their ARC chain validates; empty: ARC is checked and reported only, as OpenDMARC does by default"},
	{Name: "arc_sealing", Default: "no", Kind: config.Bool, Doc: "yes: add an ARC set (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal) to mail checked on arrival (msgauth_inbound_checks), signed with the first DKIM key of arc_seal_domain, so that forwarded mail keeps this host's results"},
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

// arcSeal returns the ARC set for a checked message, "" when the chain
// must not grow or sealing failed (logged: the message goes on unsealed).
func (a *msgAuth) arcSeal(ctx context.Context, queueID string, msg io.Reader, res *msgauth.Results) string {
	if a.sealer == nil {
		return ""
	}
	set, err := a.sealer.Seal(ctx, msg, res)
	if err != nil {
		a.log.Warn(fmt.Sprintf("%s: arc: not sealed: %v", queueID, err))
		return ""
	}
	if set != "" {
		a.log.Info(fmt.Sprintf("%s: ARC set added (cv=%s)", queueID, res.ARC.Result))
	}
	return set
}
