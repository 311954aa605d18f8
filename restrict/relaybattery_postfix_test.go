package restrict_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
)

// The relay battery runs every testutil.RelayCases trick against a real
// Postfix 3.7 smtpd and against yubin's smtp.Server with a
// restrict.Policy, both made from the same main.cf, for three clients:
// one outside mynetworks, the same one after SASL authentication, and
// one inside mynetworks. Every recipient Postfix accepts is also sent a
// message, and the maillog says where Postfix routed it (discard(8)
// services stand in for the transports: the log names the service, the
// next hop and the rewritten recipient); yubin's Policy.Resolve must
// route it to the same place.

const batteryDomain = "ourdomain.example"

// batteryMainCF is fullserver's relay policy (examples/fullserver
// params.go) on a host whose only domain is batteryDomain; mynetworks
// is added per instance. The transports are discard services named
// after the address class, so that where a recipient goes is logged.
const batteryMainCF = `myhostname = mx.ourdomain.example
mydomain = ourdomain.example
myorigin = $myhostname
mydestination = ourdomain.example
inet_interfaces = 127.0.0.1
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
local_recipient_maps =
alias_maps =
smtputf8_enable = yes
smtpd_sasl_auth_enable = yes
local_transport = lcl
default_transport = dflt
relay_transport = rly
virtual_transport = vrt
`

// batteryFlipped turns every address-rewriting switch away from its
// default and adds relay domains, to check that yubin honours them as
// Postfix does.
const batteryFlipped = `relay_domains = relayed.example
allow_percent_hack = no
swap_bangpath = no
resolve_dequoted_address = no
resolve_null_domain = yes
allow_untrusted_routing = yes
`

// postfixOnlyCF are settings that do not change a verdict but keep a
// long battery fast on Postfix's side.
const postfixOnlyCF = `smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_error_sleep_time = 0
smtpd_peername_lookup = no
disable_dns_lookups = yes
enable_original_recipient = yes
`

const batteryServices = `lcl  unix - - n - - discard -o syslog_name=postfix/lcl
dflt unix - - n - - discard -o syslog_name=postfix/dflt
rly  unix - - n - - discard -o syslog_name=postfix/rly
vrt  unix - - n - - discard -o syslog_name=postfix/vrt
`

// batteryUser is a user of the shared passwd-file.
const batteryUser, batteryPass = "plain@example.org", "secret"

// clientKind is who sends the battery.
type clientKind int

const (
	outside clientKind = iota // outside mynetworks, no AUTH
	authed                    // outside mynetworks, SASL-authenticated
	inside                    // inside mynetworks
)

var kindNames = [...]string{"outside", "authenticated", "inside"}

// verdict is one server's answer to one case.
type verdict struct {
	reply string // the RCPT reply line
	route string // "transport nexthop <rcpt>" when accepted and routed
}

// class is the reply class of the first refusal ("MAIL: 501 ..." when
// MAIL FROM was refused) or of the RCPT reply.
func (v verdict) class() int {
	r := strings.TrimPrefix(v.reply, "MAIL: ")
	if len(r) > 0 && r[0] >= '2' && r[0] <= '5' {
		return int(r[0] - '0')
	}
	return 0
}

// smtpTalk is one SMTP session over a real connection.
type smtpTalk struct {
	c  net.Conn
	br *bufio.Reader
}

func dialSMTP(t *testing.T, addr string) *smtpTalk {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	s := &smtpTalk{c: c, br: bufio.NewReader(c)}
	if r := s.reply(); !strings.HasPrefix(r, "220") {
		t.Fatalf("%s greeting: %q", addr, r)
	}
	return s
}

func (s *smtpTalk) reply() string {
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return "(connection closed)"
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || line[3] != '-' {
			return line
		}
	}
}

// cmd sends one command and returns the last line of its reply; each
// exchange has 30 seconds (a session carries many cases).
func (s *smtpTalk) cmd(line string) string {
	s.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(s.c, line+"\r\n"); err != nil {
		return "(write failed)"
	}
	return s.reply()
}

func (s *smtpTalk) close() {
	s.cmd("QUIT")
	s.c.Close()
}

// client sends cases to one server as one kind of client, over one
// session for as long as the HELO name stays the same (RSET between
// cases), so that a battery costs a few connections.
type client struct {
	t    *testing.T
	addr string
	kind clientKind
	s    *smtpTalk
	helo string
}

func (cl *client) close() {
	if cl.s != nil {
		cl.s.close()
		cl.s = nil
	}
}

// session returns a session that has said EHLO helo (and authenticated,
// for that kind of client), reusing the current one after RSET.
func (cl *client) session(helo string) (*smtpTalk, string) {
	if cl.s != nil && cl.helo == helo {
		if r := cl.s.cmd("RSET"); strings.HasPrefix(r, "250") {
			return cl.s, ""
		}
	}
	cl.close()
	cl.s, cl.helo = dialSMTP(cl.t, cl.addr), helo
	if r := cl.s.cmd("EHLO " + helo); !strings.HasPrefix(r, "250") {
		cl.close()
		return nil, "EHLO: " + r
	}
	if cl.kind == authed {
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + batteryUser + "\x00" + batteryPass))
		if r := cl.s.cmd("AUTH PLAIN " + ir); !strings.HasPrefix(r, "235") {
			cl.t.Fatalf("%s: AUTH: %q", cl.addr, r)
		}
	}
	return cl.s, ""
}

// run sends one case and returns the RCPT reply and, when send is set
// and the recipient was accepted, the queue ID of a message sent to it
// ("" when none).
func (cl *client) run(c testutil.RelayCase, send bool) (rcptReply, queueID string) {
	s, fail := cl.session(c.Helo)
	if s == nil {
		return fail, ""
	}
	if r := s.cmd("MAIL FROM:<" + c.From + ">"); !strings.HasPrefix(r, "250") {
		return "MAIL: " + r, ""
	}
	rcptReply = s.cmd(c.Command())
	if !send || !strings.HasPrefix(rcptReply, "2") {
		return rcptReply, ""
	}
	if r := s.cmd("DATA"); !strings.HasPrefix(r, "354") {
		cl.t.Fatalf("%s: DATA for %q: %q", cl.addr, c.Addr, r)
	}
	r := s.cmd("Subject: relay battery\r\n\r\n" + c.Trick + "\r\n.")
	if i := strings.Index(r, "queued as "); strings.HasPrefix(r, "250") && i >= 0 {
		return rcptReply, strings.TrimSpace(r[i+len("queued as "):])
	}
	cl.t.Fatalf("%s: end of DATA for %q: %q", cl.addr, c.Addr, r)
	return "", ""
}

// startYubinMX serves yubin's smtp.Server with a Policy from mainCF (and
// AUTH from svc) on 127.0.0.1:0.
func startYubinMX(t *testing.T, mainCF string, svc *auth.Service) (string, *restrict.Policy) {
	t.Helper()
	params, err := restrict.ParseMainCF(strings.NewReader(mainCF))
	if err != nil {
		t.Fatal(err)
	}
	p, err := restrict.New(params)
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtp.Server{
		Hostname:      "mx." + batteryDomain,
		Policy:        p,
		Authenticator: svc,
		// As postfixOnlyCF: one session carries many refused cases, and
		// the tarpit would slow every reply after the tenth.
		MaxErrors:       10000,
		SoftErrorLimit:  -1,
		MaxJunkCommands: -1,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String(), p
}

// batteryAuth is the SASL service both servers use: yubin's smtp.Server
// directly, Postfix through yubin's Dovecot auth-client socket.
func batteryAuth(t *testing.T) (*auth.Service, string) {
	t.Helper()
	svc := &auth.Service{
		PassDB:         &auth.PasswdFile{Path: filepath.Join(testutil.SharedTestdata(t), "passwd-file")},
		AuthMechanisms: []string{"PLAIN"},
		FailureDelay:   -1, PenaltyBase: -1,
	}
	sock := filepath.Join(testutil.SharedDir(t), "auth-client")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	s := &dovecotauth.Server{Authenticator: svc}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return svc, sock
}

// deliveryLine is discard(8)'s log line for one delivered recipient:
// the service (transport), the recipient and the next hop (discard
// gives the next hop as its reason).
var deliveryLine = regexp.MustCompile(`postfix/(\w+)/discard\[\d+\]: ([0-9A-F]+): to=<(.*?)>, (?:orig_to=<.*?>, )?relay=none, .*status=sent \((.*)\)$`)

// postfixRoutes waits until every queue ID has its delivery logged and
// returns "transport nexthop <rcpt>" for each.
func postfixRoutes(t *testing.T, pf *testutil.SMTPPostfix, ids []string) map[string]string {
	t.Helper()
	routes := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, line := range strings.Split(pf.Log(), "\n") {
			if m := deliveryLine.FindStringSubmatch(line); m != nil {
				routes[m[2]] = fmt.Sprintf("%s %s <%s>", m[1], m[4], m[3])
			}
		}
		missing := 0
		for _, id := range ids {
			if routes[id] == "" {
				missing++
			}
		}
		if missing == 0 {
			return routes
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages not delivered by Postfix:\n%s", missing, len(ids), pf.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// yubinRoute is Policy.Resolve's answer in the same shape as
// postfixRoutes'.
func yubinRoute(p *restrict.Policy, addr string) string {
	d, err := p.Resolve(context.Background(), addr)
	if err != nil {
		return "error: " + err.Error()
	}
	if len(d.Targets) != 1 {
		return fmt.Sprintf("%d targets", len(d.Targets))
	}
	tg := d.Targets[0]
	return fmt.Sprintf("%s %s <%s>", tg.Transport, tg.Nexthop, quoteLocal(tg.Address))
}

// policyVerdict asks the Policy alone what it answers at RCPT and, if
// it accepts, where Resolve routes the address.
func policyVerdict(t *testing.T, p *restrict.Policy, kind clientKind, c testutil.RelayCase) verdict {
	req := &restrict.Request{ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientName: "unknown",
		Helo: c.Helo, Sender: c.From, Recipient: c.Addr}
	if kind == authed {
		req.SASLUser = batteryUser
	}
	// As the SMTP server does: the sender stage at MAIL (whose refusal
	// smtp.Server may hold back until RCPT), then the recipient stage.
	for _, stage := range []restrict.Stage{restrict.StageSender, restrict.StageRecipient} {
		d, err := p.Check(context.Background(), stage, req)
		if err != nil {
			t.Errorf("%s: Check(%q): %v", kindNames[kind], c.Addr, err)
		}
		if d.Refused() {
			return verdict{reply: d.String()}
		}
	}
	return verdict{reply: "250 2.1.5 Ok", route: yubinRoute(p, c.Addr)}
}

// quoteLocal writes an internal-form address as Postfix logs it: the
// local part quoted when it holds characters RFC 5322 does not allow
// in a dot-atom.
func quoteLocal(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr
	}
	local := addr[:i]
	if strings.ContainsAny(local, " \"\\()<>,;:@[]") {
		local = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"`
	}
	return local + addr[i:]
}

// batteryRow is one case's verdicts, per client kind: Postfix's smtpd,
// yubin's smtp.Server with the Policy, and the Policy alone (Check and
// Resolve, given the address the case says a server extracts).
type batteryRow struct {
	c                      testutil.RelayCase
	postfix, yubin, policy [3]verdict
}

// runBattery runs cases against a Postfix and a yubin server for the
// three kinds of client: one pair of servers outside whose mynetworks
// the client is (unauthenticated, then authenticated), one pair with
// the client inside.
func runBattery(t *testing.T, mainCF string, cases []testutil.RelayCase) []batteryRow {
	svc, sock := batteryAuth(t)
	rows := make([]batteryRow, len(cases))
	for i, c := range cases {
		rows[i].c = c
	}
	for _, nw := range []struct {
		mynetworks string
		kinds      []clientKind
	}{{"127.0.0.2/32", []clientKind{outside, authed}}, {"127.0.0.0/8", []clientKind{inside}}} {
		cf := mainCF + "mynetworks = " + nw.mynetworks + "\n"
		pf := testutil.StartSMTPPostfix(t, "")
		pf.Reconfigure(t, cf+postfixOnlyCF+"smtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+sock+"\n", batteryServices)
		yaddr, p := startYubinMX(t, cf, svc)
		for _, kind := range nw.kinds {
			var ids []string
			idRow := map[string]int{}
			pc := &client{t: t, addr: pf.Addr(), kind: kind}
			yc := &client{t: t, addr: yaddr, kind: kind}
			for i, c := range cases {
				r, id := pc.run(c, true)
				rows[i].postfix[kind].reply = r
				if id != "" {
					ids = append(ids, id)
					idRow[id] = i
				}
				r, _ = yc.run(c, false)
				rows[i].yubin[kind].reply = r
				if strings.HasPrefix(r, "2") {
					rows[i].yubin[kind].route = yubinRoute(p, c.Addr)
				}
				rows[i].policy[kind] = policyVerdict(t, p, kind, c)
			}
			pc.close()
			yc.close()
			for id, route := range postfixRoutes(t, pf, ids) {
				if i, ok := idRow[id]; ok {
					rows[i].postfix[kind].route = route
				}
			}
		}
	}
	return rows
}

// formatBattery writes the rows as a table, marking those where yubin
// and Postfix differ.
func formatBattery(rows []batteryRow, only func(batteryRow) bool) string {
	var b strings.Builder
	for _, r := range rows {
		if only != nil && !only(r) {
			continue
		}
		fmt.Fprintf(&b, "%-44s %-50q from=<%s> helo=%s\n", r.c.Trick, strings.TrimPrefix(r.c.Command(), "RCPT TO:"), r.c.From, r.c.Helo)
		for k := range kindNames {
			smark, pmark := "  ", "  "
			if !serverAgrees(r.postfix[k], r.yubin[k]) {
				smark = "!!"
			} else if !sameVerdict(r.postfix[k], r.yubin[k]) {
				smark = "s " // stricter syntax
			}
			if !policyAgrees(r.postfix[k], r.yubin[k], r.policy[k]) {
				pmark = "!!"
			}
			fmt.Fprintf(&b, "      %-13s postfix: %-58s %s\n", kindNames[k], r.postfix[k].reply, r.postfix[k].route)
			fmt.Fprintf(&b, "   %s %-13s server:  %-58s %s\n", smark, "", r.yubin[k].reply, r.yubin[k].route)
			fmt.Fprintf(&b, "   %s %-13s policy:  %-58s %s\n", pmark, "", r.policy[k].reply, r.policy[k].route)
		}
	}
	return b.String()
}

// sameVerdict reports whether yubin's verdict y is Postfix's pf: the
// same reply class and, for an accepted recipient, the same transport,
// next hop and rewritten recipient. Domains compare without regard to
// case (yubin lower-cases them, Postfix keeps the client's spelling),
// and yubin's empty next hop for the local and virtual transports
// (which need none: they deliver on this host) matches Postfix's
// recipient domain.
func sameVerdict(pf, y verdict) bool {
	if pf.class() != y.class() {
		return false
	}
	if strings.EqualFold(pf.route, y.route) {
		return true
	}
	pt, pn, pr := splitRoute(pf.route)
	yt, yn, yr := splitRoute(y.route)
	return pt == yt && (pt == "lcl" || pt == "vrt") && yn == "" && strings.EqualFold(pr, yr) && pn != ""
}

func splitRoute(route string) (transport, nexthop, rcpt string) {
	transport, rest, _ := strings.Cut(route, " ")
	nexthop, rcpt, _ = strings.Cut(rest, " ")
	return transport, nexthop, rcpt
}

// syntaxRefusal reports whether a reply is the SMTP server's refusal of
// an address it cannot parse (yubin's smtp package reads RFC 5321
// paths more strictly than Postfix's smtpd, which takes RFC 822 forms).
func syntaxRefusal(reply string) bool {
	return strings.HasPrefix(reply, "501 5.1.3 ") || strings.HasPrefix(reply, "553 5.6.7 ") || strings.HasPrefix(reply, "MAIL: 501 5.1.7 ")
}

// serverAgrees reports whether yubin's server gave Postfix's verdict, or
// refused as bad syntax what Postfix took (stricter, never looser).
func serverAgrees(pf, y verdict) bool {
	return sameVerdict(pf, y) || syntaxRefusal(y.reply)
}

// policyAgrees reports whether the Policy alone gave Postfix's verdict.
// An address the server refuses for want of SMTPUTF8 never reaches the
// Policy, which is not told whether the client declared it.
func policyAgrees(pf, y, pol verdict) bool {
	return sameVerdict(pf, pol) || strings.HasPrefix(y.reply, "553 5.6.7 ")
}

func rowDiffers(r batteryRow) bool {
	for k := range kindNames {
		if !serverAgrees(r.postfix[k], r.yubin[k]) || !policyAgrees(r.postfix[k], r.yubin[k], r.policy[k]) {
			return true
		}
	}
	return false
}

// stricterRows are the cases where yubin's server refuses as bad syntax
// what Postfix accepts from some client.
func stricterRows(r batteryRow) bool {
	for k := range kindNames {
		if !sameVerdict(r.postfix[k], r.yubin[k]) && syntaxRefusal(r.yubin[k].reply) {
			return true
		}
	}
	return false
}

// TestPostfixRelayBattery sends the open-relay battery to a real Postfix
// 3.7 and to yubin (smtp.Server + restrict.Policy from the same main.cf),
// from outside mynetworks, authenticated, and inside mynetworks, and
// fails with the table of cases where the reply class or, for accepted
// recipients, the route (transport, next hop, rewritten recipient)
// differs. It also checks Postfix against the expectations written in
// testutil.RelayCases.
func TestPostfixRelayBattery(t *testing.T) {
	t.Parallel()
	cases := testutil.RelayCases(batteryDomain)
	rows := runBattery(t, batteryMainCF, cases)
	if testing.Verbose() || t.Failed() {
		t.Logf("relay battery, fullserver defaults:\n%s", formatBattery(rows, nil))
	}
	if d := formatBattery(rows, rowDiffers); d != "" {
		t.Errorf("yubin and Postfix differ (!! marks the verdicts):\n%s", d)
	}
	if d := formatBattery(rows, stricterRows); d != "" {
		t.Logf("yubin's smtp server refuses as bad syntax what Postfix takes:\n%s", d)
	}
	for _, r := range rows {
		checkExpected(t, r.c, r)
	}
}

// TestPostfixRelayBatteryFlipped runs the battery with allow_percent_hack,
// swap_bangpath, resolve_dequoted_address, resolve_null_domain and
// allow_untrusted_routing away from their defaults and relay_domains
// set (parent-domain matching included).
func TestPostfixRelayBatteryFlipped(t *testing.T) {
	t.Parallel()
	rows := runBattery(t, batteryMainCF+batteryFlipped, testutil.RelayCases(batteryDomain))
	if testing.Verbose() || t.Failed() {
		t.Logf("relay battery, switches flipped:\n%s", formatBattery(rows, nil))
	}
	if d := formatBattery(rows, rowDiffers); d != "" {
		t.Errorf("yubin and Postfix differ (!! marks the verdicts):\n%s", d)
	}
}

// TestPostfixRelayBatteryRelayDomains runs the battery with relay_domains
// set and the switches at their defaults: a relay domain and its
// subdomains (relay_domains is in parent_domain_matches_subdomains) are
// accepted from anyone, but an address with routing operators in a
// relay domain is not (allow_untrusted_routing = no).
func TestPostfixRelayBatteryRelayDomains(t *testing.T) {
	t.Parallel()
	rows := runBattery(t, batteryMainCF+"relay_domains = relayed.example\n", testutil.RelayCases(batteryDomain))
	if testing.Verbose() || t.Failed() {
		t.Logf("relay battery, relay_domains = relayed.example:\n%s", formatBattery(rows, nil))
	}
	if d := formatBattery(rows, rowDiffers); d != "" {
		t.Errorf("yubin and Postfix differ (!! marks the verdicts):\n%s", d)
	}
}

// checkExpected compares Postfix's verdicts and yubin's server's with
// the case's written expectations (testutil.RelayCases).
func checkExpected(t *testing.T, c testutil.RelayCase, r batteryRow) {
	t.Helper()
	for _, who := range []struct {
		name string
		v    [3]verdict
	}{{"postfix", r.postfix}, {"yubin", r.yubin}} {
		for k := range kindNames {
			want := c.Trusted
			if clientKind(k) == outside {
				want = c.Outside
			}
			if got := who.v[k].class(); got != want {
				t.Errorf("%s: %s %s from %s: %q, want class %d", who.name, c.Trick, c.Command(), kindNames[k], who.v[k].reply, want)
			}
			if got := who.v[k].route; got != "" {
				tr, _, rcpt := splitRoute(got)
				if tr != classTransport[c.Class] || !strings.EqualFold(rcpt, "<"+c.Rcpt+">") {
					t.Errorf("%s: %s %s from %s: routed %q, want %s <%s>", who.name, c.Trick, c.Command(), kindNames[k], got, classTransport[c.Class], c.Rcpt)
				}
			}
		}
	}
}

var classTransport = map[string]string{"local": "lcl", "default": "dflt", "relay": "rly", "virtual": "vrt"}
