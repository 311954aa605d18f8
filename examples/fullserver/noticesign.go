package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
)

// loadDKIMKeys reads the DKIM signing keys of dkim_keys and the OpenDKIM
// tables; nil when none are configured.
func loadDKIMKeys(v *config.Config) (keyStores, error) {
	var keys keyStores
	if kt, st := v.Get("dkim_key_table"), v.Get("dkim_signing_table"); kt != "" || st != "" {
		if kt == "" || st == "" {
			return nil, errors.New("dkim_key_table and dkim_signing_table go together")
		}
		t, err := msgauth.LoadOpenDKIMTables(kt, st)
		if err != nil {
			return nil, err
		}
		keys = append(keys, t)
	}
	if len(v.List("dkim_keys")) > 0 {
		dk := msgauth.DomainKeys{}
		for _, e := range v.List("dkim_keys") {
			parts := strings.SplitN(e, ":", 3)
			if len(parts) != 3 {
				return nil, fmt.Errorf("dkim_keys: %q: want domain:selector:keyfile", e)
			}
			s, err := msgauth.LoadPrivateKey(parts[2])
			if err != nil {
				return nil, fmt.Errorf("dkim_keys: %w", err)
			}
			d := strings.ToLower(parts[0])
			dk[d] = append(dk[d], &msgauth.Key{Domain: d, Selector: parts[1], Signer: s})
		}
		keys = append(keys, dk)
	}
	return keys, nil
}

// noticeKeys gives a notice's From address (MAILER-DAEMON@$myhostname,
// or double_bounce_sender's) the keys of its own domain, or else those
// of dkim_notice_domain ($mydomain): under relaxed DMARC alignment a
// signature by mydomain covers mail from myhostname.
type noticeKeys struct {
	keys     keyStores
	mydomain string
}

func (n noticeKeys) SigningKeys(from string) []*msgauth.Key {
	if k := n.keys.SigningKeys(from); len(k) > 0 {
		return k
	}
	return n.keys.SigningKeys("postmaster@" + n.mydomain)
}

// noticeSigner is the queue's SignNotice: the notices the queue writes
// (bounces, delay notices, postmaster copies) get DKIM signatures when
// a key exists for the host's domain; nil without keys.
func noticeSigner(v *config.Config, log *slog.Logger) (func(context.Context, []byte) (string, error), error) {
	keys, err := loadDKIMKeys(v)
	if err != nil || keys == nil {
		return nil, err
	}
	s := &msgauth.Signer{Keys: noticeKeys{keys: keys, mydomain: strings.ToLower(v.Get("dkim_notice_domain"))}, Logger: log}
	return func(ctx context.Context, msg []byte) (string, error) {
		return s.Sign(ctx, bytes.NewReader(msg))
	}, nil
}
