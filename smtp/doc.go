// Package smtp is an SMTP server and client: the receiving side of a mail
// host (port 25, submission 587 and submissions 465, as Postfix's smtpd
// runs them) and the sending side (relay to a smarthost or direct MX
// delivery, as Postfix's smtp client).
//
// # Server
//
// Server has the net/http shape: exported fields for the host name,
// TLS configuration, limits and timeouts, a Backend that starts a Session
// per connection, Serve / ListenAndServe / ListenAndServeTLS, and
// Shutdown(ctx), which answers the next command of every session with
// "421 4.3.2 Service shutting down" and waits for them to end. The zero
// value is a safe port 25 server. NewMTA, NewSubmission and
// NewSubmissions return the three listener policies of a typical Postfix setup (port 25
// without AUTH; 587 with STARTTLS and AUTH required; 465 with implicit TLS
// and AUTH required).
//
// A Session gets each accepted message as a stream with its Envelope
// (sender, recipients, parameters, HELO name, authenticated user, TLS
// state, queue ID); the client is told 250 only when Session.Data
// returned nil, which it must do only after the message is stored durably
// or queued. A Session returning an *Error has that reply sent; any other
// error becomes "451 4.3.0 Error: local error in processing" and is
// logged, never shown to the client.
//
// A Policy (a *restrict.Policy) is asked at connect, HELO, MAIL, each
// RCPT, DATA and the end of the data, and its decisions are sent with the
// code, enhanced code and text Postfix would send; refusals before RCPT
// are delayed to RCPT as with smtpd_delay_reject = yes. A client that
// pipelines where RFC 2920 forbids it, or talks before the greeting, is
// logged ("improper command pipelining after DATA from ...", "... after
// CONNECT from ...") and reported to the Policy
// (reject_unauth_pipelining), or, by default as in Postfix 3.9
// (smtpd_forbid_unauth_pipelining = yes; AllowUnauthPipelining turns it
// off), disconnected. A RateLimiter (restrict's anvil Limiter)
// enforces the smtpd_client_*_limit rates. A Policy that is also a
// ContentChecker (restrict with header_checks or body_checks) inspects
// the header, once complete and before the Session sees it, and the
// body lines, as Postfix's cleanup does; through a ContentScanner
// (restrict.ContentScan) it does so MIME part by MIME part, with
// mime_header_checks, nested_header_checks and mime_nesting_limit. AUTH goes through
// an auth.Authenticator (mechanisms offered per connection, plaintext
// only where allowed, smtpd_tls_auth_only).
//
// # Client
//
// Client is the sending side: Dial, DialTLS, DialMX, or NewClient /
// NewClientHost on a connection the caller dialled (from a chosen source
// address, as smtp_bind_address; a Dialer does both with options), then
// Hello, StartTLS or HelloTLS (TLSPolicy: smtp_tls_security_level), Auth
// with any SASL client, and Send, which pipelines MAIL, RCPT and DATA (or
// the first BDAT chunk) and returns a result per recipient. Timeouts
// bounds each phase as smtp_helo_timeout, smtp_mail_timeout,
// smtp_rcpt_timeout, smtp_data_init_timeout, smtp_data_xfer_timeout and
// smtp_data_done_timeout do (PostfixTimeouts gives their defaults);
// ConnectionState, RemoteAddr and LocalAddr tell what a sender logs.
//
// The client is the engine in internal/smtpwire that lmtp.Client shares.
// It checks every value it writes: addresses (RFC 5321 syntax, no control
// character even inside quotes), the EHLO name, SIZE, BODY, RET, NOTIFY,
// and ENVID, ORCPT and AUTH=, which it takes as xtext (the form a Server
// records them in; EncodeXtext makes xtext of a raw value) and refuses
// when they are not. A refused value is a *FieldError and is never
// written, so no caller value can inject a command; a bad recipient
// fails that recipient only. Message content is sent with CRLF line
// endings: a bare CR or bare LF becomes CRLF, over DATA (dot-stuffed) and
// BDAT alike, as Postfix's smtp client sends only CRLF lines, so no
// "\n.\n" or "\r.\r" in a message can end DATA early at a lenient next
// hop (SMTP smuggling). Only BODY=BINARYMIME content goes as it is.
//
// Error is one type with lmtp.Error (both alias the engine's): errors.As
// with either finds a reply from either client or server.
//
// Implemented: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2920 (PIPELINING),
// RFC 2034 and 3463 (ENHANCEDSTATUSCODES), RFC 6152 (8BITMIME), RFC 6531
// (SMTPUTF8), RFC 3461 (DSN parameters, passed to the Session), RFC 3030
// (CHUNKING/BDAT, BINARYMIME), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC
// 6409 and 8314 (submission, implicit TLS), RFC 3848 (ESMTPSA etc. in the
// Received header), RFC 4468 (BURL, with Server.BURL: a URL's data is
// added to the message as a BDAT chunk).
//
// Postfix behaviour reproduced: the replies of smtpd for protocol errors
// ("503 5.5.1 Error: need MAIL command", "501 Syntax: EHLO hostname",
// "500 5.5.2 Error: line too long", "552 5.3.4 Error: message file too
// big"), the log lines "connect from unknown[IP]", "lost connection after
// CMD from ...", "timeout after CMD from ...", "NOQUEUE: reject: RCPT from
// ...", "QUEUEID: client=..." and "disconnect from unknown[IP] ehlo=1
// auth=0/1 commands=1/3", the tarpit (smtpd_hard_error_limit,
// smtpd_soft_error_limit, smtpd_error_sleep_time,
// smtpd_junk_command_limit, smtpd_recipient_overshoot_limit: which
// commands count as errors and junk, the sleep, the "421 4.7.0 Error: too
// many errors"; compared with Postfix by TestPostfixTarpit), the hang-up
// on HTTP and header fields sent as commands ("221 2.7.0 Error: I can
// break rules, too. Goodbye."),
// smtpd_client_connection_count_limit, smtpd_recipient_limit,
// message_size_limit, disable_vrfy_command (VRFY is off unless
// EnableVRFY), smtpd_tls_received_header, and smtpd_forbid_bare_newline =
// normalize (bare LF accepted as CRLF, only <CRLF>.<CRLF> ends DATA) and
// Postfix 3.7's bare CR handling (a CR is never a line end; inside a line
// it is stored as a space).
//
// # Implementation notes
//
// One goroutine serves each connection; a BDAT transaction adds one that
// runs Session.Data on a pipe, so a chunked message is streamed across
// BDAT commands without being buffered. Replies are buffered and flushed
// only when the client has nothing more pipelined. An over-size message
// is read to its end through the connection's buffer and dropped. After
// STARTTLS the plaintext read buffer is thrown away (no command
// injection) and HELO/AUTH state is forgotten. Server TLS session
// tickets are off unless TLSSessionTickets is set. Each read waits at
// most the phase's timeout (ReadTimeout for commands, DataTimeout for
// message content).
package smtp
