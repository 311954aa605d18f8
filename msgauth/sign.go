package msgauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DefaultSignedHeaders are the header fields signed when present: RFC
// 6376 section 5.4.1's list and the fields mail clients show or thread
// on. A field is signed as many times as it occurs.
var DefaultSignedHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc",
	"Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Sender",
}

// DefaultOversignedHeaders are listed in h= once more than they occur
// (RFC 6376 section 8.15), so that a verifier fails the signature when
// one is added after signing.
var DefaultOversignedHeaders = []string{"From", "Subject", "To"}

// Signer adds DKIM signatures (RFC 6376) with relaxed/relaxed
// canonicalization and rsa-sha256 or ed25519-sha256 (RFC 8463), one per
// key the key store gives for the message's From address. Its zero
// value with Keys set is ready; it is safe for concurrent use.
type Signer struct {
	Keys KeyStore
	// Headers lists the fields signed when present (DefaultSignedHeaders).
	Headers []string
	// Oversign lists the fields signed once more than they occur
	// (DefaultOversignedHeaders). They are signed even when absent.
	Oversign []string
	Limits   Limits
	Logger   *slog.Logger
}

// ErrNoFrom is returned by Sign for a message without exactly one
// From field with an address: such a message cannot be signed usefully.
var ErrNoFrom = errors.New("msgauth: message has no single From address")

// Sign reads the message (header and body, CRLF or LF line ends) and
// returns the DKIM-Signature header fields to prepend to it, each ending
// in CRLF, or "" when the key store has no key for the From address.
func (s *Signer) Sign(ctx context.Context, msg io.Reader) (string, error) {
	lim := s.Limits.withDefaults()
	br := bufio.NewReader(msg)
	raw, fields, err := readHeader(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return "", err
	}
	from, ok := fromAddress(fields)
	if !ok {
		return "", ErrNoFrom
	}
	keys := s.Keys.SigningKeys(from)
	if len(keys) == 0 {
		return "", nil
	}
	hkeys := s.headerKeys(fields)
	signers := make([]*dkim.Signer, 0, len(keys))
	writers := make([]io.Writer, 0, len(keys))
	defer func() {
		for _, sg := range signers {
			sg.Close()
		}
	}()
	for _, k := range keys {
		sg, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 k.Domain,
			Selector:               k.Selector,
			Signer:                 k.Signer,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             hkeys,
		})
		if err != nil {
			return "", fmt.Errorf("msgauth: key %s._domainkey.%s: %w", k.Selector, k.Domain, err)
		}
		signers = append(signers, sg)
		writers = append(writers, sg)
	}
	w := io.MultiWriter(writers...)
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	if !endsBlank(raw) {
		// No body: end the header so the signer sees an empty body.
		if _, err := io.WriteString(w, "\r\n"); err != nil {
			return "", err
		}
	}
	if err := copyBody(ctx, w, br); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, sg := range signers {
		if err := sg.Close(); err != nil {
			return "", fmt.Errorf("msgauth: signing with %s._domainkey.%s: %w", keys[i].Selector, keys[i].Domain, err)
		}
		out.WriteString(sg.Signature())
	}
	signers = nil
	if s.Logger != nil {
		s.Logger.DebugContext(ctx, "dkim signed", "from", from, "signatures", len(keys))
	}
	return out.String(), nil
}

// headerKeys builds the h= list for a header: each listed field as many
// times as it occurs, oversigned fields once more.
func (s *Signer) headerKeys(fields []field) []string {
	list := s.Headers
	if list == nil {
		list = DefaultSignedHeaders
	}
	over := s.Oversign
	if over == nil {
		over = DefaultOversignedHeaders
	}
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.Name)]++
	}
	isOver := map[string]bool{}
	for _, h := range over {
		isOver[strings.ToLower(h)] = true
	}
	var keys []string
	seen := map[string]bool{}
	add := func(h string) {
		lh := strings.ToLower(h)
		if seen[lh] {
			return
		}
		seen[lh] = true
		n := count[lh]
		if isOver[lh] {
			n++
		}
		for i := 0; i < n; i++ {
			keys = append(keys, h)
		}
	}
	add("From")
	for _, h := range list {
		add(h)
	}
	for _, h := range over {
		add(h)
	}
	return keys
}

// fromAddress returns the address of the single From field.
func fromAddress(fields []field) (string, bool) {
	d, ok := fromDomains(fields)
	if !ok || len(d) != 1 {
		return "", false
	}
	for _, f := range fields {
		if strings.EqualFold(f.Name, "From") {
			v := f.value()
			if i := strings.LastIndexByte(v, '<'); i >= 0 {
				if j := strings.IndexByte(v[i:], '>'); j > 0 {
					return strings.TrimSpace(v[i+1 : i+j]), true
				}
			}
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func endsBlank(raw []byte) bool {
	return len(raw) >= 2 && raw[len(raw)-1] == '\n' && (raw[len(raw)-2] == '\n' || len(raw) >= 3 && raw[len(raw)-2] == '\r' && raw[len(raw)-3] == '\n')
}
