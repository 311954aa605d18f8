package queue

import (
	"io"
	"strings"

	"github.com/yubinmail/yubin/smtp"
)

// mimeDowngrade reports whether the message must be converted to 7bit
// for a server with extensions ext: Postfix's SMTP_MIME_DOWNGRADE, the
// server does not announce 8BITMIME, conversion is not disabled
// (disable_mime_output_conversion), and the message is not declared
// 7bit (BODY=7BIT). Binary content (BODY=BINARYMIME) is not converted:
// it needs BINARYMIME.
func (t *SMTPTransport) mimeDowngrade(env *Envelope, ext smtp.Extensions) bool {
	return needDowngrade(t.DisableMIMEOutputConversion, ext.Has(smtp.Ext8BitMIME), env.Body)
}

// needDowngrade is SMTP_MIME_DOWNGRADE for the smtp and lmtp transports:
// conversion not disabled, no 8BITMIME from the server, a message body
// not declared 7BIT (nor BINARYMIME, which is not converted).
func needDowngrade(disabled, has8 bool, body string) bool {
	if disabled || has8 {
		return false
	}
	b := strings.ToUpper(body)
	return b != "7BIT" && b != "BINARYMIME"
}

// downgradeReader returns body converted by downgradeMIME, read through
// a pipe from a goroutine that Close ends and waits for.
func downgradeReader(body io.ReadCloser) io.ReadCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(downgradeMIME(pw, body, DefaultSMTPLineLengthLimit))
	}()
	return &downgraded{pr: pr, body: body, done: done}
}

type downgraded struct {
	pr   *io.PipeReader
	body io.ReadCloser
	done chan struct{}
}

func (d *downgraded) Read(p []byte) (int, error) { return d.pr.Read(p) }

func (d *downgraded) Close() error {
	d.pr.Close()
	<-d.done
	return d.body.Close()
}
