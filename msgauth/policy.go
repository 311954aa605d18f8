package msgauth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// PolicyServer answers Postfix's policy delegation protocol
// (check_policy_service) with an SPF verdict, as policyd-spf does: a
// Postfix admin places "check_policy_service unix:private/policyd-spf"
// in smtpd_recipient_restrictions, after permit_mynetworks and
// permit_sasl_authenticated, to refuse mail whose sender's SPF policy
// says fail. It serves any net.Conn (a unix socket Postfix connects to,
// or an in-process pipe). The verdict of one message ("instance") is
// computed once for all its recipients.
type PolicyServer struct {
	Verifier *Verifier
	// RejectSoftFail also refuses softfail (default: accept it).
	RejectSoftFail bool
	// IdleTimeout closes a connection that sends nothing (default 5m).
	IdleTimeout time.Duration
	Logger      *slog.Logger

	mu    sync.Mutex
	cache map[string]SPFResult // by instance, a few hundred at most
	order []string
}

// Limits of a policy request (Postfix sends some 30 attributes).
const (
	policyMaxLine  = 2048
	policyMaxAttrs = 100
	policyCache    = 256
)

// ServeConn answers requests on c until the client closes it or sends
// something that is not a policy request.
func (p *PolicyServer) ServeConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	idle := p.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	br := bufio.NewReaderSize(c, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		attrs, err := readPolicyRequest(br)
		if err != nil {
			return
		}
		action := p.Decide(ctx, attrs)
		c.SetWriteDeadline(time.Now().Add(idle))
		if _, err := io.WriteString(c, "action="+action+"\n\n"); err != nil {
			return
		}
	}
}

// readPolicyRequest reads name=value lines up to an empty line.
func readPolicyRequest(br *bufio.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	for {
		line, err := readLineLimited(br, policyMaxLine)
		if err != nil {
			return nil, err
		}
		line = []byte(strings.TrimRight(string(line), "\r\n"))
		if len(line) == 0 {
			return attrs, nil
		}
		if len(attrs) >= policyMaxAttrs {
			return nil, fmt.Errorf("too many attributes")
		}
		k, v, ok := strings.Cut(string(line), "=")
		if !ok {
			return nil, fmt.Errorf("malformed attribute")
		}
		attrs[k] = v
	}
}

// Decide returns the action for one policy request: a 550 5.7.23
// rejection for SPF fail (RFC 7372 section 3.2's code), a 451 4.7.24
// deferral on a temporary DNS error, else DUNNO. Requests for other
// stages than RCPT and from authenticated clients are DUNNO.
func (p *PolicyServer) Decide(ctx context.Context, attrs map[string]string) string {
	if attrs["request"] != "smtpd_access_policy" || attrs["sasl_username"] != "" {
		return "DUNNO"
	}
	if st := attrs["protocol_state"]; st != "RCPT" && st != "" {
		return "DUNNO"
	}
	ip := net.ParseIP(attrs["client_address"])
	if ip == nil {
		return "DUNNO"
	}
	key := attrs["instance"]
	r, ok := p.cached(key)
	if !ok {
		r = p.Verifier.CheckSPF(ctx, ip, attrs["helo_name"], attrs["sender"])
		p.store(key, r)
	}
	if p.Logger != nil {
		p.Logger.InfoContext(ctx, "policy spf", "client", ip.String(), "sender", attrs["sender"], "result", r.Result)
	}
	switch {
	case r.Result == ResultFail || r.Result == ResultSoftFail && p.RejectSoftFail:
		return fmt.Sprintf("550 5.7.23 SPF %s: %s is not allowed to send mail for %s", r.Result, ip, sanitize(r.Domain))
	case r.Result == ResultTempError:
		return "451 4.7.24 SPF temporary error for " + sanitize(r.Domain)
	}
	return "DUNNO"
}

// sanitize keeps a name printable for a reply.
func sanitize(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}

func (p *PolicyServer) cached(key string) (SPFResult, bool) {
	if key == "" {
		return SPFResult{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.cache[key]
	return r, ok
}

func (p *PolicyServer) store(key string, r SPFResult) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cache == nil {
		p.cache = map[string]SPFResult{}
	}
	if _, ok := p.cache[key]; ok {
		return
	}
	if len(p.order) >= policyCache {
		delete(p.cache, p.order[0])
		p.order = p.order[1:]
	}
	p.cache[key] = r
	p.order = append(p.order, key)
}
