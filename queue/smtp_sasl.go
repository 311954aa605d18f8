package queue

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASLLookup looks a key up in smtp_sasl_password_maps: the value is
// "username:password" (split at the first colon, so the password may
// hold colons). It returns found false when there is no entry; an error
// means the table could not be read (delivery is deferred).
type SASLLookup func(ctx context.Context, key string) (value string, found bool, err error)

// maxSASLValue bounds a password-map value.
const maxSASLValue = 2048

var errBadSASLValue = errors.New("malformed smtp_sasl_password_maps value (want username:password)")

// parseSASLValue splits "username:password" as Postfix does (at the
// first colon; no colon means an empty password). It refuses an empty
// user name, over-long values and control characters, which could not
// go into an AUTH exchange.
func parseSASLValue(v string) (user, pass string, err error) {
	if len(v) > maxSASLValue {
		return "", "", errBadSASLValue
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return "", "", errBadSASLValue
		}
	}
	user, pass, _ = strings.Cut(v, ":")
	if user == "" {
		return "", "", errBadSASLValue
	}
	return user, pass, nil
}

// saslOpts are the parsed smtp_sasl_security_options.
type saslOpts struct {
	noPlaintext, noAnonymous bool
}

// parseSASLOptions reads a comma- or space-separated list of
// noplaintext, noanonymous, noactive, nodictionary, mutual_auth; the
// last three concern mechanisms this client does not offer.
func parseSASLOptions(s string) saslOpts {
	var o saslOpts
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch f {
		case "noplaintext":
			o.noPlaintext = true
		case "noanonymous":
			o.noAnonymous = true
		}
	}
	return o
}

// saslClient picks the mechanism to use among those the server offers
// (the AUTH parameter of EHLO): PLAIN, then LOGIN, unless the security
// options forbid plaintext mechanisms. It returns nil when none fits.
func saslClient(offered string, opts saslOpts, user, pass string) sasl.Client {
	if opts.noPlaintext {
		return nil
	}
	have := map[string]bool{}
	for _, m := range strings.Fields(strings.ToUpper(offered)) {
		have[m] = true
	}
	switch {
	case have["PLAIN"]:
		return sasl.NewPlainClient("", user, pass)
	case have["LOGIN"]:
		return sasl.NewLoginClient(user, pass)
	}
	return nil
}

// lookupSASL finds the credentials for a session in Postfix's order: the
// sender (with SASLSenderDependent), the remote host name, then the
// nexthop as written ("[smtp.example.com]:587", "example.com").
func (t *SMTPTransport) lookupSASL(ctx context.Context, sender, host, dest string) (user, pass string, found bool, err error) {
	keys := []string{host, dest}
	if t.SASLSenderDependent && sender != "" {
		keys = append([]string{sender}, keys...)
	}
	for _, k := range keys {
		v, ok, err := t.SASL(ctx, k)
		if err != nil {
			return "", "", false, err
		}
		if ok {
			user, pass, err = parseSASLValue(v)
			return user, pass, err == nil, err
		}
	}
	return "", "", false, nil
}
