package lmtp

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// Envelope is one LMTP transaction as a Deliverer sees it.
type Envelope struct {
	// ID names the transaction in logs and replies.
	ID string
	// From is the reverse path, "" for <>.
	From string
	// To are the accepted recipients in order.
	To []string
	// UTF8 and Body are the SMTPUTF8 and BODY= parameters of MAIL.
	UTF8 bool
	Body string
	// Size is the message size (as received, without the headers the
	// server adds).
	Size int64
	// Helo is the LHLO argument; RemoteAddr the client (nil over a
	// unix socket without peer address); TLS the TLS state, if any.
	Helo       string
	RemoteAddr net.Addr
	TLS        *tls.ConnectionState
	Received   time.Time

	// rcptUser is the user StoreDeliverer.Rcpt last looked up for this
	// transaction, for Deliver to use instead of a second lookup (the
	// server calls Rcpt and Deliver of one transaction in turn, never
	// at once).
	rcptUser *lookedUp
}

// Deliverer delivers accepted mail for the LMTP server.
type Deliverer interface {
	// Rcpt judges a recipient at RCPT time: nil accepts it, an *Error
	// (such as 550 5.1.1 for an unknown user) refuses it.
	Rcpt(ctx context.Context, env *Envelope, rcpt string) error
	// Deliver stores the message for one recipient; msg already starts
	// with the Return-Path, Delivered-To and Received headers for that
	// recipient. It returns only when the message is durably stored; its
	// error becomes that recipient's reply.
	Deliver(ctx context.Context, env *Envelope, rcpt string, msg io.Reader) error
}
