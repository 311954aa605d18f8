package smtp

import (
	"strconv"
	"strings"
)

// cmdHelo handles EHLO and HELO (RFC 5321 4.1.1.1).
func (ss *session) cmdHelo(arg string, esmtp bool) bool {
	verb := "HELO"
	if esmtp {
		verb = "EHLO"
	}
	if arg == "" || strings.ContainsAny(arg, " \t") && !strings.HasPrefix(arg, "[") {
		ss.reply(501, "", "Syntax: "+verb+" hostname")
		return false
	}
	ss.resetTransaction()
	ss.info.Helo = arg
	ss.info.ESMTP = esmtp
	ss.delayedHelo = nil
	ss.heloAct = stageActions{}
	if d, refused := ss.checkPolicy(StageHelo, ""); refused {
		if !ss.srv.delayReject() {
			ss.logReject("HELO", d, "")
			ss.replyDecision(d)
			return false
		}
		ss.delayedHelo = &d
	}
	s := ss.srv
	if !esmtp {
		ss.reply(250, "", s.hostname())
		return true
	}
	lines := []string{s.hostname()}
	ext := s.ext()
	if ext.Has(ExtPipelining) {
		lines = append(lines, "PIPELINING")
	}
	if ext.Has(ExtSize) {
		if max := s.maxMessageBytes(); max > 0 {
			lines = append(lines, "SIZE "+strconv.FormatInt(max, 10))
		} else {
			lines = append(lines, "SIZE")
		}
	}
	if ext.Has(ExtVRFYAdvertise) && s.EnableVRFY {
		lines = append(lines, "VRFY")
	}
	if ss.info.TLS == nil && s.serverTLS() != nil {
		lines = append(lines, "STARTTLS")
	}
	if mechs := ss.authMechanisms(); len(mechs) > 0 {
		lines = append(lines, "AUTH "+strings.Join(mechs, " "))
	}
	if ext.Has(ExtEnhancedStatusCodes) {
		lines = append(lines, "ENHANCEDSTATUSCODES")
	}
	if ext.Has(Ext8BitMIME) {
		lines = append(lines, "8BITMIME")
	}
	if ext.Has(ExtDSN) {
		lines = append(lines, "DSN")
	}
	if ext.Has(ExtSMTPUTF8) {
		lines = append(lines, "SMTPUTF8")
	}
	if ext.Has(ExtChunking) {
		lines = append(lines, "CHUNKING")
		if ext.Has(ExtBinaryMIME) {
			lines = append(lines, "BINARYMIME")
		}
	}
	if ss.burlOffered() {
		lines = append(lines, "BURL imap")
	}
	ss.reply(250, "", strings.Join(lines, "\n"))
	return true
}
