package smtpwire

import "time"

// DefaultTimeout bounds a client operation whose Timeouts field and
// Client.Timeout are both zero.
const DefaultTimeout = 5 * time.Minute

// Timeouts bound each phase of a client conversation, as Postfix's
// smtp_*_timeout and lmtp_*_timeout parameters do. A zero field means
// the Client's Timeout (DefaultTimeout when that is zero too); a context
// deadline that comes earlier always wins. PostfixTimeouts returns
// Postfix's defaults.
type Timeouts struct {
	// Connect bounds the TCP (or unix socket) connect
	// (smtp_connect_timeout).
	Connect time.Duration
	// Helo bounds waiting for the greeting and for the EHLO/HELO/LHLO
	// reply, and each step of AUTH (smtp_helo_timeout).
	Helo time.Duration
	// StartTLS bounds STARTTLS and the TLS handshake
	// (smtp_starttls_timeout).
	StartTLS time.Duration
	// Mail bounds sending MAIL FROM and reading its reply
	// (smtp_mail_timeout).
	Mail time.Duration
	// Rcpt bounds sending RCPT TO and reading its reply
	// (smtp_rcpt_timeout).
	Rcpt time.Duration
	// DataInit bounds sending DATA (or a BDAT chunk that is not the
	// last) and reading its reply (smtp_data_init_timeout).
	DataInit time.Duration
	// DataXfer bounds each write of message content: the transfer fails
	// when it makes no progress for this long (smtp_data_xfer_timeout).
	DataXfer time.Duration
	// DataDone bounds waiting for the reply (LMTP: each reply) after the
	// final "." or BDAT LAST (smtp_data_done_timeout).
	DataDone time.Duration
	// Rset bounds RSET and NOOP (smtp_rset_timeout).
	Rset time.Duration
	// Quit bounds QUIT (smtp_quit_timeout).
	Quit time.Duration
}

// PostfixTimeouts returns the defaults of Postfix 3.7's smtp(8):
// connect 30s, helo 300s, starttls 300s, mail 300s, rcpt 300s, data_init
// 120s, data_xfer 180s, data_done 600s, rset 20s, quit 300s.
func PostfixTimeouts() Timeouts {
	return Timeouts{
		Connect:  30 * time.Second,
		Helo:     300 * time.Second,
		StartTLS: 300 * time.Second,
		Mail:     300 * time.Second,
		Rcpt:     300 * time.Second,
		DataInit: 120 * time.Second,
		DataXfer: 180 * time.Second,
		DataDone: 600 * time.Second,
		Rset:     20 * time.Second,
		Quit:     300 * time.Second,
	}
}
