package restrict

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PolicyDialer opens a connection to a check_policy_service server
// ("tcp", "127.0.0.1:10023" or "unix", "/var/spool/postfix/private/policy").
type PolicyDialer func(ctx context.Context, network, address string) (net.Conn, error)

// WithPolicyDialer sets how check_policy_service connects to its servers
// (default: a net.Dialer).
func WithPolicyDialer(d PolicyDialer) Option { return func(p *Policy) { p.policyDial = d } }

// Limits of a policy server's reply (Postfix's attr_scan has similar ones).
const (
	policyMaxLine  = 4096
	policyMaxAttrs = 100
	policyMaxIdle  = 8 // idle connections kept per server
)

// policyClient is one check_policy_service endpoint with its settings
// (smtpd_policy_service_* parameters, or the per-service "{ endpoint,
// name=value, ... }" overrides of Postfix 3.0) and its idle connections.
type policyClient struct {
	name          string // as written in the list, for logs
	network, addr string
	timeout       time.Duration
	defaultAction string
	tryLimit      int
	retryDelay    time.Duration
	maxIdle       time.Duration
	maxTTL        time.Duration
	requestLimit  int
	policyContext string
	compatibility string
	dial          PolicyDialer
	mu            sync.Mutex
	idle          []*policyConn
}

type policyConn struct {
	c        net.Conn
	br       *bufio.Reader
	born     time.Time
	lastUsed time.Time
	requests int
}

// newPolicyClient parses "inet:host:port", "unix:/path" (a relative path
// is under queue_directory, as "unix:private/policy" in Postfix) or
// "{ endpoint, timeout=10s, default_action=DUNNO, try_limit=1,
// policy_context=x, ... }" (the braces already removed by the list
// splitter).
func (p *Policy) newPolicyClient(arg string) (*policyClient, error) {
	fields := splitList(arg)
	if len(fields) == 0 {
		return nil, errors.New("empty policy service")
	}
	pc := &policyClient{
		name:          fields[0],
		timeout:       p.params.Duration("smtpd_policy_service_timeout"),
		defaultAction: p.get("smtpd_policy_service_default_action"),
		tryLimit:      int(p.params.Int("smtpd_policy_service_try_limit")),
		retryDelay:    p.params.Duration("smtpd_policy_service_retry_delay"),
		maxIdle:       p.params.Duration("smtpd_policy_service_max_idle"),
		maxTTL:        p.params.Duration("smtpd_policy_service_max_ttl"),
		requestLimit:  int(p.params.Int("smtpd_policy_service_request_limit")),
		policyContext: p.get("smtpd_policy_service_policy_context"),
		compatibility: p.get("compatibility_level"),
		dial:          p.policyDial,
	}
	// Per-service settings: "name = value" may arrive split around '='.
	rest := strings.Join(fields[1:], " ")
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("policy service attribute %q: need name=value", rest)
		}
		name = strings.TrimSpace(name)
		after = strings.TrimLeft(after, " \t")
		// The value runs to the next " name=" or the end.
		val := after
		if i := nextAttr(after); i >= 0 {
			val, rest = after[:i], after[i:]
		} else {
			rest = ""
		}
		val = strings.TrimSpace(val)
		var err error
		switch name {
		case "timeout":
			pc.timeout, err = parseDuration(val, 's')
		case "max_idle":
			pc.maxIdle, err = parseDuration(val, 's')
		case "max_ttl":
			pc.maxTTL, err = parseDuration(val, 's')
		case "retry_delay":
			pc.retryDelay, err = parseDuration(val, 's')
		case "try_limit":
			pc.tryLimit, err = strconv.Atoi(val)
		case "request_limit":
			pc.requestLimit, err = strconv.Atoi(val)
		case "default_action":
			pc.defaultAction = val
		case "policy_context":
			pc.policyContext = val
		default:
			return nil, fmt.Errorf("unknown policy service attribute %q", name)
		}
		if err != nil {
			return nil, fmt.Errorf("policy service attribute %s: %v", name, err)
		}
	}
	if pc.tryLimit < 1 {
		pc.tryLimit = 1
	}
	if pc.timeout <= 0 {
		pc.timeout = 100 * time.Second
	}
	typ, where, ok := strings.Cut(pc.name, ":")
	switch {
	case !ok || where == "":
		return nil, fmt.Errorf("policy service %q: need inet:host:port or unix:/path", pc.name)
	case typ == "inet":
		host, port, err := net.SplitHostPort(where)
		if err != nil || port == "" {
			return nil, fmt.Errorf("policy service %q: need inet:host:port", pc.name)
		}
		if host == "" {
			host = "localhost"
		}
		pc.network, pc.addr = "tcp", net.JoinHostPort(strings.Trim(host, "[]"), port)
	case typ == "unix":
		if !filepath.IsAbs(where) {
			where = filepath.Join(p.get("queue_directory"), where)
		}
		pc.network, pc.addr = "unix", where
	default:
		return nil, fmt.Errorf("policy service %q: only inet: and unix: endpoints are supported", pc.name)
	}
	if pc.dial == nil {
		var d net.Dialer
		pc.dial = d.DialContext
	}
	return pc, nil
}

// nextAttr finds the start of the next "name=" word in s, or -1.
func nextAttr(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			continue
		}
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z') {
			k++
		}
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k > j && k < len(s) && s[k] == '=' {
			return i
		}
	}
	return -1
}

// checkPolicyService is check_policy_service: send the request's
// attributes (Postfix's SMTPD_POLICY_README protocol), read "action=...",
// and apply it as an access table result. When the server cannot be
// reached or answers without an action, default_action applies.
func (s *state) checkPolicyService(st *step, replyName, replyClass, defACL string) status {
	pc := st.policy
	action, err := pc.query(s.ctx, s.policyAttrs(pc))
	if err != nil || action == "" {
		if err == nil {
			err = errors.New("no action attribute in the reply")
		}
		s.p.log.Warn("problem talking to policy server", "server", pc.name, "error", err)
		action = pc.defaultAction
	}
	return s.tableResult(st, action, replyName, replyClass, defACL)
}

// policyAttrs lists the request attributes Postfix 3.7 sends.
func (s *state) policyAttrs(pc *policyClient) [][2]string {
	r := s.req
	rcptCount := 0
	if s.stage == StageData || s.stage == StageEndOfData {
		rcptCount = r.RecipientCount
	}
	client := ""
	if r.ClientAddr.IsValid() {
		client = addrString(r.ClientAddr)
	}
	size := ""
	if r.Size > 0 {
		size = strconv.FormatInt(r.Size, 10)
	} else {
		size = "0"
	}
	enc := ""
	if r.TLS {
		enc = "TLS"
	}
	return [][2]string{
		{"request", "smtpd_access_policy"},
		{"protocol_state", s.stage.String()},
		{"protocol_name", "SMTP"},
		{"client_address", client},
		{"client_name", r.clientName()},
		{"client_port", ""},
		{"reverse_client_name", r.reverseClientName()},
		{"server_address", ""},
		{"server_port", ""},
		{"helo_name", s.helo.val},
		{"sender", s.sender.val},
		{"recipient", s.recipient.val},
		{"recipient_count", strconv.Itoa(rcptCount)},
		{"queue_id", r.QueueID},
		{"instance", r.QueueID},
		{"size", size},
		{"etrn_domain", ""},
		{"stress", ""},
		{"sasl_method", ""},
		{"sasl_username", r.SASLUser},
		{"sasl_sender", ""},
		{"ccert_subject", ""},
		{"ccert_issuer", ""},
		{"ccert_fingerprint", ""},
		{"ccert_pubkey_fingerprint", ""},
		{"encryption_protocol", enc},
		{"encryption_cipher", ""},
		{"encryption_keysize", "0"},
		{"policy_context", pc.policyContext},
		{"compatibility_level", pc.compatibility},
	}
}

// query sends one request and returns the action, retrying on a fresh
// connection up to try_limit times.
func (pc *policyClient) query(ctx context.Context, attrs [][2]string) (string, error) {
	var req strings.Builder
	for _, a := range attrs {
		req.WriteString(a[0])
		req.WriteByte('=')
		req.WriteString(policyValue(a[1]))
		req.WriteByte('\n')
	}
	req.WriteByte('\n')
	var lastErr error
	for try := 0; try < pc.tryLimit; try++ {
		if try > 0 && pc.retryDelay > 0 {
			t := time.NewTimer(pc.retryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", ctx.Err()
			case <-t.C:
			}
		}
		conn, err := pc.get(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		action, err := conn.roundTrip(ctx, req.String(), pc.timeout, time.Now())
		if err != nil {
			conn.c.Close()
			lastErr = err
			continue
		}
		pc.put(conn)
		return action, nil
	}
	return "", lastErr
}

// policyValue keeps a value on one line.
func policyValue(v string) string {
	if strings.IndexFunc(v, func(r rune) bool { return r == '\n' || r == '\r' || r == 0 }) < 0 {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, v)
}

func (pc *policyClient) get(ctx context.Context) (*policyConn, error) {
	now := time.Now()
	pc.mu.Lock()
	for len(pc.idle) > 0 {
		c := pc.idle[len(pc.idle)-1]
		pc.idle = pc.idle[:len(pc.idle)-1]
		if (pc.maxIdle > 0 && now.Sub(c.lastUsed) > pc.maxIdle) || (pc.maxTTL > 0 && now.Sub(c.born) > pc.maxTTL) {
			c.c.Close()
			continue
		}
		pc.mu.Unlock()
		return c, nil
	}
	pc.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, pc.timeout)
	defer cancel()
	c, err := pc.dial(dctx, pc.network, pc.addr)
	if err != nil {
		return nil, err
	}
	return &policyConn{c: c, br: bufio.NewReaderSize(c, policyMaxLine), born: now, lastUsed: now}, nil
}

func (pc *policyClient) put(c *policyConn) {
	c.requests++
	if pc.requestLimit > 0 && c.requests >= pc.requestLimit {
		c.c.Close()
		return
	}
	c.lastUsed = time.Now()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if len(pc.idle) >= policyMaxIdle {
		c.c.Close()
		return
	}
	pc.idle = append(pc.idle, c)
}

// roundTrip writes the request and reads "name=value" lines up to an
// empty line.
func (c *policyConn) roundTrip(ctx context.Context, req string, timeout time.Duration, now time.Time) (string, error) {
	deadline := now.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.c.Write([]byte(req)); err != nil {
		return "", err
	}
	action := ""
	for n := 0; ; n++ {
		if n > policyMaxAttrs {
			return "", errors.New("policy server reply has too many attributes")
		}
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return "", errors.New("policy server reply line too long")
			}
			return "", err
		}
		l := strings.TrimRight(string(line), "\r\n")
		if l == "" {
			break
		}
		name, val, ok := strings.Cut(l, "=")
		if !ok {
			return "", fmt.Errorf("policy server reply: malformed line %q", printable(l))
		}
		if name == "action" {
			action = strings.TrimSpace(val)
		}
	}
	return action, nil
}
