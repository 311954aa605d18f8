package imap

import (
	"context"
	"errors"
	"io"
	"strings"
)

// The refusals of FetchSubmitURL.
var (
	// ErrURLInvalid: the text is not an IMAP URL with URLAUTH that
	// names one message or part ("imap://user@host/MAILBOX
	// ;UIDVALIDITY=n/;UID=n[/;SECTION=s];URLAUTH=access:INTERNAL:token").
	ErrURLInvalid = errors.New("imap: not a valid URLAUTH URL")
	// ErrURLNotAuthorized: the URL has no URLAUTH, or its access
	// identifier is not the submitting user's "submit+" one: fetching
	// it would need a trust relationship (RFC 4468 3.3).
	ErrURLNotAuthorized = errors.New("imap: URL not authorized for submission")
	// ErrURLUnresolved: the URL is authorized but names nothing that
	// can be given: its token is forged or was reset, it has expired,
	// or the message or part is gone.
	ErrURLUnresolved = errors.New("imap: URL does not resolve")
)

// FetchSubmitURL fetches what a URLAUTH URL names for a submission
// server's BURL (RFC 4468): the URL's access identifier must be
// "submit+" and submitter, the user who authenticated to the
// submission server (Dovecot's submission checks the same), and its
// token must be the one the owner's mailbox access key signs, as
// URLFETCH checks it. The data is the message or section as URLFETCH
// returns it; size is its length. The reader must be closed.
//
// It uses the Server's Backend, URLAuth and MessageLimits and needs no
// running server: a submission server may call it on a Server value
// that only holds those.
func (s *Server) FetchSubmitURL(ctx context.Context, submitter, rawURL string) (io.ReadCloser, int64, error) {
	if s.URLAuth == nil || s.Backend == nil {
		return nil, 0, ErrURLNotAuthorized
	}
	if len(rawURL) > maxURLLength {
		return nil, 0, ErrURLInvalid
	}
	if _, _, ok := splitAbsoluteURL(rawURL); !ok {
		return nil, 0, ErrURLInvalid
	}
	if lastIndexASCIIFold(rawURL, ";URLAUTH=") < 0 {
		return nil, 0, ErrURLNotAuthorized
	}
	ua, ok := parseURLAuth(rawURL, true)
	if !ok || !strings.EqualFold(ua.mechanism, "INTERNAL") {
		return nil, 0, ErrURLInvalid
	}
	if ua.access != "submit+"+submitter {
		return nil, 0, ErrURLNotAuthorized
	}
	// A session-less conn: resolveURLAuth reads only the server, the
	// user and the writer's UTF-8 mode.
	c := &conn{srv: s, user: submitter, log: s.logger(), w: &writer{}}
	f, size, err := c.resolveURLAuth(ua)
	if err != nil {
		return nil, 0, err
	}
	if f == nil {
		return nil, 0, ErrURLUnresolved
	}
	return f, size, nil
}
