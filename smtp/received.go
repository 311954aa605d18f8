package smtp

import (
	"crypto/tls"
	"strings"
	"time"
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
		bits := cipherBits(st.CipherSuite)
		b.WriteString("\t(using " + tlsVersionName(st.Version) + " with cipher " + tls.CipherSuiteName(st.CipherSuite) +
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

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "TLS"
}

func cipherBits(id uint16) string {
	n := tls.CipherSuiteName(id)
	switch {
	case strings.Contains(n, "AES_128"):
		return "128"
	case strings.Contains(n, "AES_256"), strings.Contains(n, "CHACHA20"):
		return "256"
	}
	return "0"
}
