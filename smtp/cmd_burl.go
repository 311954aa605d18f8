package smtp

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// BURLFetcher fetches the data a BURL URL (RFC 4468) names, for the
// submission server: with IMAP URLs, the part of a message in the
// user's mail store that a URLAUTH URL ("...;URLAUTH=submit+user:
// INTERNAL:token") signs. Implementations must be safe for concurrent
// use.
type BURLFetcher interface {
	// FetchURL returns the data url names, as user (the client's SASL
	// user name) may have it, and its size in bytes. A refusal is an
	// *Error, sent as it is (RFC 4468 6: 554 5.7.8 for a URL that needs
	// a trust relationship, 554 5.6.6 for one that does not resolve);
	// any other error is answered "451 4.4.1 IMAP server unavailable".
	FetchURL(ctx context.Context, user, url string) (io.ReadCloser, int64, error)
}

// maxBURLLength bounds the URL of a BURL command (the command line is
// bounded anyway; this keeps the fetcher's input small).
const maxBURLLength = 8192

// burlFetchTimeout bounds one URL's fetch.
const burlFetchTimeout = 5 * time.Minute

// burlOffered reports whether BURL is offered to the session: with a
// fetcher, to a client that has authenticated.
func (ss *session) burlOffered() bool {
	return ss.srv.BURL != nil && ss.info.AuthUser != ""
}

// The BURL replies of RFC 4468 6.
var (
	errBURLSyntax  = &Error{Code: 501, Enhanced: Enhanced{5, 5, 4}, Message: "Syntax: BURL absolute-URI [LAST]"}
	errBURLInvalid = &Error{Code: 554, Enhanced: Enhanced{5, 7, 0}, Message: "Invalid URL"}
	errBURLTrust   = &Error{Code: 554, Enhanced: Enhanced{5, 7, 8}, Message: "URL resolution requires trust relationship"}
	errBURLFailed  = &Error{Code: 554, Enhanced: Enhanced{5, 6, 6}, Message: "IMAP URL resolution failed"}
	errBURLServer  = &Error{Code: 451, Enhanced: Enhanced{4, 4, 1}, Message: "IMAP server unavailable"}
)

// ErrBURLInvalid, ErrBURLTrust and ErrBURLFailed are the refusals a
// BURLFetcher returns for a URL that is not a valid IMAP URL, one that
// the server may not fetch without a trust relationship (no URLAUTH,
// another server, another user's access identifier), and one that
// names nothing the user may have (a forged or expired token, a
// message that is gone).
var (
	ErrBURLInvalid error = errBURLInvalid
	ErrBURLTrust   error = errBURLTrust
	ErrBURLFailed  error = errBURLFailed
)

// cmdBurl handles BURL absolute-URI [LAST] (RFC 4468 3): the URL's data
// is added to the message as a BDAT chunk would be, so BURL and BDAT
// may be mixed in one transaction.
func (ss *session) cmdBurl(arg string) (ok, fatal bool) {
	if ss.srv.BURL == nil {
		ss.reply(502, "5.5.2", "Error: command not recognized")
		return false, false
	}
	if ss.info.AuthUser == "" {
		ss.reply(530, "5.7.0", "Authentication required")
		return false, false
	}
	url, last, ok := parseBURL(arg)
	if !ok {
		ss.replyErr(errBURLSyntax)
		return false, false
	}
	if ss.bdat == nil && (ss.from == nil || len(ss.rcpts) == 0) {
		if ss.from != nil && ss.rcptTried {
			ss.reply(554, "5.5.0", "No recipients have been specified")
		} else {
			ss.reply(503, "5.5.0", "Valid RCPT TO required before BURL")
		}
		return false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), burlFetchTimeout)
	defer cancel()
	rc, size, err := ss.srv.BURL.FetchURL(ctx, ss.info.AuthUser, url)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			ss.srv.logger().Warn(ss.logID()+": BURL fetch failed: "+err.Error(), "service", ss.info.Service)
			e = errBURLServer
		}
		ss.srv.logger().Info(ss.logID()+": reject: BURL from "+ss.clientStr+": "+e.Error(), "service", ss.info.Service)
		ss.replyErr(e)
		// The transaction goes on: the client may send RSET or try
		// another URL (RFC 4468 3.4 leaves a failed BURL's chunk out).
		return false, false
	}
	defer rc.Close()
	skip := func() bool { return false }
	return ss.addChunk("BURL", size, last, io.LimitReader(rc, size), skip)
}

// parseBURL reads "absolute-URI [SP LAST]".
func parseBURL(arg string) (url string, last, ok bool) {
	f := strings.Fields(arg)
	switch {
	case len(f) == 2 && strings.EqualFold(f[1], "LAST"):
		last = true
	case len(f) != 1:
		return "", false, false
	}
	url = f[0]
	if len(url) > maxBURLLength || strings.ContainsAny(url, "\x00\x7f") {
		return "", false, false
	}
	return url, last, true
}
