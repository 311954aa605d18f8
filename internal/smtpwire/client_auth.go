package smtpwire

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/emersion/go-sasl"
)

// maxAuthSteps bounds the 334 challenges of one AUTH exchange.
const maxAuthSteps = 16

// maxCommandLine is the longest command line the client writes with an
// AUTH initial response (RFC 5321 4.5.3.1.4: 512 octets, CRLF
// included); a longer response is sent after an empty 334 instead (RFC
// 4954 4).
const maxCommandLine = 510

// Auth authenticates with a SASL client mechanism (RFC 4954): AUTH with
// the initial response when the mechanism has one (and it fits in a
// command line), then one base64 response per 334 challenge. The
// mechanism name is checked (FieldError); responses are base64, so
// nothing the mechanism returns can inject a command. A negative reply is
// returned as *Error. A challenge that is not base64, or a mechanism
// that fails, cancels the exchange with "*".
func (c *Client) Auth(ctx context.Context, a sasl.Client) error {
	mech, ir, err := a.Start()
	if err != nil {
		return fmt.Errorf("%s: AUTH: %w", c.proto, err)
	}
	if err := checkMechanism(mech); err != nil {
		return err
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	d := c.Timeouts.Helo
	line := "AUTH " + mech
	var pending []byte // an initial response too long for the command line
	if ir != nil {
		enc := "="
		if len(ir) > 0 {
			enc = base64.StdEncoding.EncodeToString(ir)
		}
		if len(line)+1+len(enc) <= maxCommandLine {
			line += " " + enc
		} else {
			pending = ir
		}
	}
	rep, err := c.cmd(ctx, d, 2, line)
	for i := 0; err != nil && rep != nil && rep.Code == 334; i++ {
		if i == maxAuthSteps {
			c.cmd(ctx, d, 5, "*")
			return fmt.Errorf("%s: AUTH %s: more than %d challenges", c.proto, mech, maxAuthSteps)
		}
		var resp []byte
		if pending != nil {
			resp, pending = pending, nil
		} else {
			chal, derr := base64.StdEncoding.DecodeString(rep.Text())
			if derr != nil {
				c.cmd(ctx, d, 5, "*")
				return fmt.Errorf("%s: AUTH %s: challenge is not base64", c.proto, mech)
			}
			var nerr error
			if resp, nerr = a.Next(chal); nerr != nil {
				c.cmd(ctx, d, 5, "*")
				return fmt.Errorf("%s: AUTH %s: %w", c.proto, mech, nerr)
			}
		}
		rep, err = c.cmd(ctx, d, 2, base64.StdEncoding.EncodeToString(resp))
	}
	return err
}
