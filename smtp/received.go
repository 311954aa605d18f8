package smtp

import (
	"crypto/tls"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// receivedHeader builds the Received: field (RFC 5321 4.4) the server
// prepends, with the RFC 3848 protocol name (ESMTP, ESMTPS, ESMTPSA, and
// UTF8SMTP* for SMTPUTF8) and, with TLSReceivedHeader, the TLS details
// Postfix adds under smtpd_tls_received_header.
func (ss *session) receivedHeader(now time.Time) string {
	var b strings.Builder
	helo := sanitizeComment(ss.info.Helo)
	if helo == "" {
		helo = ss.info.ClientName // no HELO: Postfix names the client
	}
	b.WriteString("Received: from " + helo + " (" + ss.info.ClientName + " [" + hostOf(ss.info.RemoteAddr) + "])\r\n")
	if ss.info.TLS != nil && ss.srv.TLSReceivedHeader {
		st := ss.info.TLS
		bits := strconv.Itoa(smtpwire.CipherBits(st.CipherSuite))
		b.WriteString("\t(using " + smtpwire.TLSVersionName(st.Version) + " with cipher " + tls.CipherSuiteName(st.CipherSuite) +
			" (" + bits + "/" + bits + " bits))\r\n")
	}
	proto := "SMTP"
	if ss.info.ESMTP {
		proto = "ESMTP"
		if ss.info.TLS != nil {
			proto += "S"
		}
		if ss.info.AuthUser != "" {
			proto += "A"
		}
		if ss.mailOpts.UTF8 {
			proto = "UTF8" + strings.TrimPrefix(proto, "E")
		}
	}
	b.WriteString("\tby " + ss.srv.hostname() + " with " + proto + " id " + ss.queueID)
	if len(ss.rcpts) == 1 && !strings.ContainsAny(ss.rcpts[0].Addr, "\r\n") {
		b.WriteString("\r\n\tfor <" + ss.rcpts[0].Addr + ">")
	}
	b.WriteString("; " + now.Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)") + "\r\n")
	return b.String()
}

func sanitizeComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '(' || r == ')' || r == '\\' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}
