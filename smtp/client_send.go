package smtp

import (
	"context"
	"io"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// SendResult is the outcome of a transaction: Rcpt holds, per recipient
// in order, nil when accepted or its error (the server's *Error, or a
// *FieldError for a recipient not sent); Replies the reply that decided
// each recipient; Reply the text of the final 250 reply without the
// codes ("Ok: queued as ..."). When Send also returns an error, a
// nil Rcpt entry means that error applies to the recipient.
type SendResult = smtpwire.SendResult

// Send runs one mail transaction. The returned SendResult says which
// recipients were refused; err is set when the transaction failed as a
// whole (MAIL or the data refused, no recipient accepted, I/O errors,
// the message over the server's SIZE).
//
// Every value is checked before it is written: an invalid sender or MAIL
// parameter fails the call with a *FieldError; an invalid recipient,
// NOTIFY or ORCPT fails that recipient only. ENVID, ORCPT and AUTH= are
// taken as xtext, as a Server records them (EncodeXtext makes xtext of a
// raw value); Body, Ret and Notify are checked against their keywords.
// SIZE, BODY, DSN and AUTH= parameters go out only when the server
// offers the extension; SMTPUTF8 is added when an address is not ASCII.
//
// msg's line endings are made CRLF (a bare CR or LF becomes CRLF) for
// DATA and for BDAT alike, so a message is the same bytes either way and
// no "\n.\n" can end DATA early at a lenient next hop; DATA also
// dot-stuffs. Only BODY=BINARYMIME content is sent as it is.
func (c *Client) Send(ctx context.Context, from string, to []Recipient, opts *MailOptions, msg io.Reader) (*SendResult, error) {
	rcpts := make([]smtpwire.Recipient, len(to))
	for i, r := range to {
		rcpts[i] = smtpwire.Recipient{Addr: r.Addr, Opts: smtpwire.RcptOptions(r.Opts)}
	}
	var o *smtpwire.MailOptions
	if opts != nil {
		o = (*smtpwire.MailOptions)(opts)
	}
	return c.sync().Send(ctx, from, rcpts, o, msg)
}

// SendMail sends one message to the recipients: MAIL, RCPT, then DATA
// (or BDAT when the server offers CHUNKING), pipelined when the server
// offers PIPELINING. It fails when any recipient was refused or the
// message was not accepted.
func (c *Client) SendMail(ctx context.Context, from string, to []string, msg io.Reader) error {
	rcpts := make([]Recipient, len(to))
	for i, t := range to {
		rcpts[i].Addr = t
	}
	res, err := c.Send(ctx, from, rcpts, nil, msg)
	if err != nil {
		return err
	}
	for _, e := range res.Rcpt {
		if e != nil {
			return e
		}
	}
	return nil
}
