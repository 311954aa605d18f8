package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/restrict/table"
	"github.com/yubinmail/yubin/tlspolicy"
)

// tlsPolicyParams are the outbound TLS policy settings: DANE with
// Postfix's names (smtp_tls_security_level = dane or dane-only, with
// smtp_dns_support_level = dnssec), and yubin's own for what Postfix
// does with add-ons: MTA-STS (Postfix needs postfix-mta-sts-resolver
// behind smtp_tls_policy_maps) and TLS-RPT reports.
var tlsPolicyParams = []config.Param{
	{Name: "smtp_tls_policy_maps", Default: "",
		Doc: "per-destination TLS level (domain, .parent, or [host] -> none|may|encrypt|dane|dane-only|verify|secure); attributes are ignored"},
	{Name: "smtp_dns_support_level", Default: "", Check: oneOf("", "disabled", "enabled", "dnssec"),
		Doc: "dnssec: trust the AD bit of the validating resolver, which DANE needs"},
	{Name: "smtp_dnssec_nameserver", Default: "", Check: optAddr,
		Doc: "(yubin) host:port of the DNSSEC-validating resolver (a local unbound) that the SMTP client asks for MX, address, TLSA, MTA-STS and TLS-RPT records when smtp_dns_support_level = dnssec; empty: the first nameserver of /etc/resolv.conf, as Postfix"},
	{Name: "smtp_mta_sts", Default: "no", Kind: config.Bool,
		Doc: "(yubin) yes: apply the MTA-STS policies (RFC 8461) of next-hop domains, as Postfix does with postfix-mta-sts-resolver"},
	{Name: "smtp_mta_sts_policy_address", Default: "", Check: optAddr,
		Doc: "(yubin) host:port that MTA-STS policy fetches connect to instead of mta-sts.DOMAIN port 443 (a local HTTPS proxy, or tests); the certificate is still verified for mta-sts.DOMAIN, against smtp_tls_CAfile/smtp_tls_CApath when set, else the system's roots"},
	{Name: "smtp_tls_rpt", Default: "no", Kind: config.Bool,
		Doc: "(yubin) yes: count outbound TLS sessions and mail daily TLS-RPT reports (RFC 8460) to the domains that ask for them"},
	{Name: "smtp_tls_rpt_organization", Default: "$mydomain", Doc: "(yubin) organization-name of TLS-RPT reports"},
	{Name: "smtp_tls_rpt_contact", Default: "postmaster@$mydomain", Doc: "(yubin) contact-info of TLS-RPT reports"},
	{Name: "smtp_tls_rpt_sender", Default: "noreply-tlsrpt@$mydomain", Doc: "(yubin) envelope and header sender of TLS-RPT reports"},
	{Name: "smtp_tls_rpt_interval", Default: "24h", Kind: config.Duration, Doc: "(yubin) how often TLS-RPT reports are sent (RFC 8460: daily)"},
}

// addTLSPolicy gives the SMTP transport its DANE, MTA-STS and TLS-RPT
// policy as the settings ask, and starts the TLS-RPT reporter.
func (h *host) addTLSPolicy(t *queue.SMTPTransport, q *queue.Queue, c *config.Config) error {
	if ref := c.Get("smtp_tls_policy_maps"); ref != "" {
		tbl, err := table.Open(ref, &table.Options{Logger: h.log})
		if err != nil {
			return fmt.Errorf("smtp_tls_policy_maps: %w", err)
		}
		t.TLSPolicyMap = tbl.Lookup
	}
	level := strings.ToLower(c.Get("smtp_tls_security_level"))
	dane := level == "dane" || level == "dane-only"
	dnssec := c.Get("smtp_dns_support_level") == "dnssec"
	sts, rpt := c.Bool("smtp_mta_sts"), c.Bool("smtp_tls_rpt")
	log := h.log.With("service", "smtp")
	if dane && !dnssec {
		log.Warn(fmt.Sprintf("smtp_tls_security_level = %s needs smtp_dns_support_level = dnssec: DANE is off", level))
	}
	if !dnssec && !sts && !rpt {
		return nil
	}
	p := &tlspolicy.Policy{}
	var txt tlspolicy.TXTResolver = tlspolicy.NetTXT{R: net.DefaultResolver}
	if dnssec {
		ns := c.Get("smtp_dnssec_nameserver")
		if ns == "" {
			ns = resolvConfNameserver("/etc/resolv.conf")
		}
		if ns == "" {
			return fmt.Errorf("smtp_dns_support_level = dnssec: no DNSSEC resolver (set smtp_dnssec_nameserver or a nameserver in /etc/resolv.conf)")
		}
		p.DNSSEC = &tlspolicy.Resolver{Addr: ns}
		// The MX and address lookups ask the same resolver, so that the
		// MX hosts whose TLSA records are looked up are the validated
		// ones.
		t.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, ns)
		}}
		txt = p.DNSSEC // and the MTA-STS and TLS-RPT TXT lookups
	}
	if sts {
		p.STS = &tlspolicy.STS{Resolver: txt, Logger: log, RootCAs: t.RootCAs}
		if addr := c.Get("smtp_mta_sts_policy_address"); addr != "" {
			p.STS.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		}
		if !h.dry {
			// RFC 8461 5.1: refresh cached policies before they expire.
			h.closers = append(h.closers, closerFunc(every(24*time.Hour, p.STS.Refresh)))
		}
	}
	if rpt {
		p.Recorder = &tlspolicy.Recorder{}
	}
	st := h.keepTLSPolicyState(c, p, log) // tlspolicy_state.go
	if rpt {
		h.startTLSRPT(q, c, p.Recorder, txt, st)
	}
	t.TLSPolicy = p
	return nil
}

// startTLSRPT sends the TLS-RPT reports every smtp_tls_rpt_interval
// through the queue until the host stops (nothing is started for a
// configuration check).
func (h *host) startTLSRPT(q *queue.Queue, c *config.Config, rec *tlspolicy.Recorder, txt tlspolicy.TXTResolver, st *tlsPolicyState) {
	sender := c.Get("smtp_tls_rpt_sender")
	rp := &tlspolicy.Reporter{
		Resolver: txt, Recorder: rec,
		Organization: c.Get("smtp_tls_rpt_organization"), Contact: c.Get("smtp_tls_rpt_contact"),
		Submitter: c.Get("myhostname"), From: sender,
		Logger: h.log.With("service", "tlsrpt"),
		// https: destinations (RFC 8460 5.4), no redirects followed.
		HTTPClient: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Send: func(ctx context.Context, from string, to []string, msg []byte) error {
			env := &queue.Envelope{From: from, Arrival: time.Now()}
			for _, a := range to {
				env.Recipients = append(env.Recipients, queue.Recipient{Addr: a})
			}
			// RFC 8460 3: reports are DKIM-signed, as the queue's own
			// notices are (dkim_keys of the sender's domain, or
			// dkim_notice_domain).
			if q.SignNotice != nil {
				if fields, err := q.SignNotice(ctx, msg); err != nil {
					h.log.Warn("TLS-RPT report not signed", "error", err.Error(), "service", "tlsrpt")
				} else {
					msg = append([]byte(fields), msg...)
				}
			}
			_, err := q.Enqueue(ctx, env, bytes.NewReader(msg))
			st.save() // the period the report took is over
			return err
		},
	}
	interval := c.Duration("smtp_tls_rpt_interval")
	if h.dry {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	go rp.Run(ctx, interval)
	h.closers = append(h.closers, closerFunc(func() error { cancel(); return nil }))
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// resolvConfNameserver returns the first nameserver of a resolv.conf as
// host:port, "" when there is none.
func resolvConfNameserver(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "nameserver" {
			if ip := net.ParseIP(fs[1]); ip != nil {
				return net.JoinHostPort(fs[1], "53")
			}
		}
	}
	return ""
}
