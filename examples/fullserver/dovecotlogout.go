package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/pop3"
)

// sessionKey keys dovecotSessionID, fresh in every process.
var sessionKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
})

// dovecotSessionID is a Dovecot session id (12 bytes in base64) for the
// connection c: the login line and the logout line of one session carry
// the same one, as Dovecot's do, without a table to remember it in.
func dovecotSessionID(c *auth.ConnInfo) string {
	m := hmac.New(sha256.New, sessionKey())
	fmt.Fprintf(m, "%p %v %v", c, c.RemoteAddr, c.LocalAddr)
	return base64.StdEncoding.EncodeToString(m.Sum(nil)[:12])
}

// imapLogoutLine logs an IMAP session's end as Dovecot's imap process
// does:
//
//	imap(alice@example.jp)<4242><hE3Yl8wKAQAAAQ==>: Disconnected: Logged out in=26 out=455 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0
//
// (Dovecot 2.3's default imap_logout_format.)
func imapLogoutLine(log *slog.Logger) func(*imap.Logout) {
	return func(l *imap.Logout) {
		log.Info(fmt.Sprintf("imap(%s)<%d><%s>: Disconnected: %s in=%d out=%d deleted=%d expunged=%d trashed=%d hdr_count=%d hdr_bytes=%d body_count=%d body_bytes=%d",
			l.User, os.Getpid(), dovecotSessionID(l.Conn), l.Reason, l.In, l.Out,
			l.Deleted, l.Expunged, l.Trashed, l.FetchHdrCount, l.FetchHdrBytes, l.FetchBodyCount, l.FetchBodyBytes))
	}
}

// pop3LogoutLine logs a POP3 session's end as Dovecot's pop3 process
// does, with its default pop3_logout_format:
//
//	pop3(alice@example.jp)<4242><hE3Yl8wKAQAAAQ==>: Disconnected: Logged out top=0/0, retr=2/2048, del=1/2, size=2048
func pop3LogoutLine(log *slog.Logger) func(*pop3.Logout) {
	return func(l *pop3.Logout) {
		log.Info(fmt.Sprintf("pop3(%s)<%d><%s>: Disconnected: %s top=%d/%d, retr=%d/%d, del=%d/%d, size=%d",
			l.User, os.Getpid(), dovecotSessionID(l.Conn), l.Reason, l.Top, l.TopBytes, l.Retr, l.RetrBytes, l.Deleted, l.Messages, l.Size))
	}
}
