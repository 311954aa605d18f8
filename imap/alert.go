package imap

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/serve"
)

// maxPendingAlerts bounds the [ALERT] texts queued for one session that
// has not yet reached a point where it may send them.
const maxPendingAlerts = 8

// maxAlertLen bounds one [ALERT] text on the wire.
const maxAlertLen = 500

// AlertReason is implemented by authentication errors that carry a text
// meant for the user, such as the "reason" field of a Dovecot passdb
// (an account disabled with nologin and reason=...). The IMAP server
// answers such a failure with "NO [ALERT] reason" instead of
// [AUTHENTICATIONFAILED], as Dovecot's imap-login does.
type AlertReason interface {
	error
	AlertReason() string
}

// Alert queues text as an "* OK [ALERT] text" response (RFC 9051 7.1:
// the client must show it to the user) for every session logged in as
// user, or for every session when user is "". A session in IDLE gets it
// at once; any other at its next command, before the tagged response.
// It returns the number of sessions the alert was queued for. Control
// characters in text are replaced by spaces.
func (s *Server) Alert(user, text string) int {
	text = cleanAlert(text)
	if text == "" {
		return 0
	}
	n := 0
	s.sessions.Each(func(ss serve.Session) {
		if ss.(*conn).queueAlert(user, text) {
			n++
		}
	})
	return n
}

// cleanAlert makes text safe as resp-text: no CR, LF or other control
// bytes, bounded length, no leading "[" (which would read as a code).
func cleanAlert(text string) string {
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	text = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(text), "["))
	if len(text) > maxAlertLen {
		cut := maxAlertLen
		for cut > 0 && text[cut]&0xc0 == 0x80 {
			cut--
		}
		text = text[:cut]
	}
	return text
}

// queueAlert adds text to the session's pending alerts when the session
// belongs to user ("" matches every session).
func (c *conn) queueAlert(user, text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if user != "" && c.alertUser != user {
		return false
	}
	if len(c.alerts) >= maxPendingAlerts {
		copy(c.alerts, c.alerts[1:])
		c.alerts = c.alerts[:len(c.alerts)-1]
	}
	c.alerts = append(c.alerts, text)
	select {
	case c.alertCh <- struct{}{}:
	default:
	}
	return true
}

// writeAlerts writes the pending alerts (session goroutine only).
func (c *conn) writeAlerts() {
	c.mu.Lock()
	pending := c.alerts
	c.alerts = nil
	c.mu.Unlock()
	for _, t := range pending {
		c.untaggedOK("ALERT", t)
	}
}

// loginAlerts queues what the program and the quota have to say to a
// user who just logged in.
func (c *conn) loginAlerts(user string) {
	if f := c.srv.LoginAlert; f != nil {
		ctx, cancel := context.WithTimeout(c.ctx(), 10*time.Second)
		text := f(ctx, user)
		cancel()
		if text = cleanAlert(text); text != "" {
			c.queueAlert("", text)
		}
	}
	c.checkQuotaAlert()
}

// checkQuotaAlert sends one [ALERT] per session when the user's storage
// or message count reaches QuotaWarnPercent of its limit (after login
// and after commands that add messages).
func (c *conn) checkQuotaAlert() {
	p := c.srv.QuotaWarnPercent
	if p <= 0 || c.quotaWarned || c.noQuota || c.st == nil || !c.quotaLimited() {
		return
	}
	q, err := c.st.Quota(c.ctx())
	if err != nil {
		return
	}
	if q.StorageLimit <= 0 && q.MessagesLimit <= 0 {
		c.noQuota = true
		return
	}
	pct := int64(-1)
	if q.StorageLimit > 0 {
		pct = max(pct, q.StorageUsed*100/q.StorageLimit)
	}
	if q.MessagesLimit > 0 {
		pct = max(pct, q.MessagesUsed*100/q.MessagesLimit)
	}
	if pct < int64(p) {
		return
	}
	c.quotaWarned = true
	c.queueAlert("", "Mailbox is "+itoa64(uint64(pct))+"% full: delete some messages to stay below the quota.")
}

// alertReason returns the user-facing text of an authentication error
// that carries one.
func alertReason(err error) string {
	var ar AlertReason
	if errors.As(err, &ar) {
		return cleanAlert(ar.AlertReason())
	}
	return ""
}
