package restrict

import (
	"context"
	"strings"
)

// maps is a parameter naming several tables ("hash:/etc/aliases,
// regexp:/etc/postfix/virtual.re"), searched in order.
type maps struct {
	param  string
	tables []Table
}

func (p *Policy) openMaps(param string, aliasSyntax bool) (*maps, error) {
	toks, err := splitRestrictions(p.params.Get(param))
	if err != nil {
		return nil, &ConfigError{Param: param, Err: err}
	}
	if len(toks) == 0 {
		return nil, nil
	}
	m := &maps{param: param}
	for i, tok := range toks {
		if !strings.Contains(tok, ":") {
			return nil, &ConfigError{Param: param, Element: i + 1, Token: tok, Err: errNeedTable}
		}
		var t Table
		if aliasSyntax {
			t, err = p.openAliasTable(tok)
		} else {
			t, err = p.openTable(tok)
		}
		if err != nil {
			if _, explicit := p.params[param]; !explicit {
				// A table named only by a Postfix default (alias_maps =
				// hash:/etc/aliases) may be absent on this host.
				p.log.Warn("skipping default table", "param", param, "table", tok, "err", err)
				continue
			}
			return nil, &ConfigError{Param: param, Element: i + 1, Token: tok, Err: err}
		}
		m.tables = append(m.tables, t)
	}
	if len(m.tables) == 0 {
		return nil, nil
	}
	return m, nil
}

// lookup is maps_find: the first table that has key. Lookup errors abort
// the evaluation when s is not nil.
func (m *maps) lookup(s *state, key string) (string, bool) {
	v, ok, err := m.find(ctxOf(s), key, false)
	if err != nil && s != nil {
		s.dictRetry(key, err)
	}
	return v, ok
}

func ctxOf(s *state) context.Context {
	if s == nil {
		return context.Background()
	}
	return s.ctx
}

func (m *maps) find(ctx context.Context, key string, partial bool) (string, bool, error) {
	if m == nil {
		return "", false, nil
	}
	for _, t := range m.tables {
		if partial && isPattern(t) {
			continue
		}
		v, ok, err := t.Lookup(ctx, key)
		if err != nil {
			return "", false, err
		}
		if ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// addrFind is mail_addr_find for recipient-style maps: user+ext@domain,
// user@domain, then (for local domains) user+ext and user, then @domain.
// It returns the value and the key that matched.
func (p *Policy) addrFind(ctx context.Context, s *state, m *maps, addr string) (string, bool, error) {
	if m == nil {
		return "", false, nil
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr, ""
	if at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	lowerAddr := strings.ToLower(addr)
	if v, ok, err := m.find(ctx, lowerAddr, false); ok || err != nil {
		return v, ok, err
	}
	user, ext := p.splitExtension(local)
	if ext != "" && domain != "" {
		if v, ok, err := m.find(ctx, strings.ToLower(user+"@"+domain), true); ok || err != nil {
			return v, ok, err
		}
	}
	if domain == "" || p.isLocalDomain(ctx, s, strings.ToLower(domain)) {
		if v, ok, err := m.find(ctx, local, true); ok || err != nil {
			return v, ok, err
		}
		if ext != "" {
			if v, ok, err := m.find(ctx, user, true); ok || err != nil {
				return v, ok, err
			}
		}
	}
	if domain != "" {
		return m.find(ctx, "@"+strings.ToLower(domain), true)
	}
	return "", false, nil
}

// rcptMapMatch reports whether addr is listed in m (rejecting on lookup
// failure).
func (s *state) rcptMapMatch(m *maps, addr string) bool {
	_, ok, err := s.p.addrFind(s.ctx, s, m, addr)
	if err != nil {
		s.dictRetry(addr, err)
	}
	return ok
}

func (s *state) checkRecipientRcptMaps(rcpt string) status {
	if s.rcptMapDone {
		return stDunno
	}
	if s.warnIfReject == 0 {
		s.rcptMapDone = true
	}
	return s.checkRcptMaps(rcpt, nameRecipient)
}

func (s *state) checkSenderRcptMaps(sender string) status {
	if s.senderMapDone {
		return stDunno
	}
	if s.warnIfReject == 0 {
		s.senderMapDone = true
	}
	return s.checkRcptMaps(sender, nameSender)
}

// checkRcptMaps is check_rcpt_maps: is the address known in its class?
func (s *state) checkRcptMaps(addr, replyClass string) status {
	p := s.p
	r := p.resolveAddr(s.ctx, s, addr)
	if s.rcptMapMatch(p.virtualAliasMaps, r.addr) {
		return stDunno
	}
	dsn := "5.1.1"
	if replyClass == nameSender {
		dsn = "5.1.0"
	}
	suffix := func(s string) string {
		if p.flag("show_user_unknown_table_name") {
			return " in " + s
		}
		return ""
	}
	switch r.class {
	case ClassVirtualAlias:
		return s.reject(classPolicy, p.code("unknown_virtual_alias_reject_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: User unknown%s", addr, replyClass, suffix("virtual alias table"))
	case ClassLocal:
		if p.localRcptMaps == nil {
			return stDunno
		}
		low := strings.ToLower(r.local)
		if low == "postmaster" || low == "mailer-daemon" || low == strings.ToLower(p.get("double_bounce_sender")) {
			return stDunno
		}
		if !s.rcptMapMatch(p.localRcptMaps, r.addr) {
			return s.reject(classPolicy, p.code("unknown_local_recipient_reject_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: User unknown%s", addr, replyClass, suffix("local recipient table"))
		}
	case ClassVirtualMailbox:
		if p.virtualMailboxMaps != nil && !s.rcptMapMatch(p.virtualMailboxMaps, r.addr) {
			return s.reject(classPolicy, p.code("unknown_virtual_mailbox_reject_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: User unknown%s", addr, replyClass, suffix("virtual mailbox table"))
		}
	case ClassRelay:
		if p.relayRcptMaps != nil && !s.rcptMapMatch(p.relayRcptMaps, r.addr) {
			return s.reject(classPolicy, p.code("unknown_relay_recipient_reject_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: User unknown%s", addr, replyClass, suffix("relay recipient table"))
		}
	}
	return stDunno
}

// rejectAuthSenderLoginMismatch: a logged-in client must own the sender
// address per smtpd_sender_login_maps.
func (s *state) rejectAuthSenderLoginMismatch(sender string, allowUnknown bool) status {
	p := s.p
	if p.senderLoginMaps == nil || s.req.SASLUser == "" {
		return stDunno
	}
	r := p.resolveAddr(s.ctx, s, sender)
	owners, ok, err := p.addrFind(s.ctx, s, p.senderLoginMaps, r.addr)
	if err != nil {
		s.dictRetry(sender, err)
	}
	if !ok && allowUnknown {
		return stDunno
	}
	if ok {
		for _, o := range splitList(owners) {
			if strings.EqualFold(o, s.req.SASLUser) {
				return stDunno
			}
		}
	}
	return s.reject(classPolicy, p.code("smtpd_sender_login_mismatch_code"), "5.7.1", "<%s>: Sender address rejected: not owned by user %s", sender, printable(s.req.SASLUser))
}

// rejectUnauthSenderLoginMismatch: a sender address that has an owner
// needs a logged-in client.
func (s *state) rejectUnauthSenderLoginMismatch(sender string) status {
	p := s.p
	if p.senderLoginMaps == nil || s.req.SASLUser != "" {
		return stDunno
	}
	r := p.resolveAddr(s.ctx, s, sender)
	_, ok, err := p.addrFind(s.ctx, s, p.senderLoginMaps, r.addr)
	if err != nil {
		s.dictRetry(sender, err)
	}
	if ok {
		return s.reject(classPolicy, p.code("smtpd_sender_login_mismatch_code"), "5.7.1", "<%s>: Sender address rejected: not logged in", sender)
	}
	return stDunno
}
