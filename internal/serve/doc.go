// Package serve holds what yubin's protocol servers (smtp, lmtp, imap,
// pop3) share around their sessions: the accept loop with back-off on
// temporary errors, the set of listeners and live sessions, and the
// graceful shutdown sequence (stop accepting, ask every session to end at
// its next safe moment, wait, then close what is left).
//
// A server keeps a Group, calls Serve for each listener, and inside its
// connection handler calls Track when the session exists and Untrack when
// it ends. What a session says when asked to end (SMTP's 421, IMAP's BYE,
// POP3's -ERR) stays in its own package, behind Session.Drain.
package serve
