package tlspolicy

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Report is a TLS-RPT aggregate report (RFC 8460 4.4); its JSON field
// names are the RFC's.
type Report struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        ReportRange    `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []ReportPolicy `json:"policies"`
}

// ReportRange is the report's date-range.
type ReportRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// ReportPolicy is one entry of the report's policies.
type ReportPolicy struct {
	Policy         ReportPolicyDesc `json:"policy"`
	Summary        ReportSummary    `json:"summary"`
	FailureDetails []ReportFailure  `json:"failure-details,omitempty"`
}

// ReportPolicyDesc is the policy object.
type ReportPolicyDesc struct {
	Type   PolicyType `json:"policy-type"`
	String []string   `json:"policy-string,omitempty"`
	Domain string     `json:"policy-domain"`
	MXHost []string   `json:"mx-host,omitempty"`
}

// ReportSummary is the summary object.
type ReportSummary struct {
	Success int64 `json:"total-successful-session-count"`
	Failure int64 `json:"total-failure-session-count"`
}

// ReportFailure is one failure-details entry.
type ReportFailure struct {
	Result         ResultType `json:"result-type"`
	SendingMTAIP   string     `json:"sending-mta-ip,omitempty"`
	ReceivingMX    string     `json:"receiving-mx-hostname,omitempty"`
	ReceivingHELO  string     `json:"receiving-mx-helo,omitempty"`
	ReceivingIP    string     `json:"receiving-ip,omitempty"`
	Count          int64      `json:"failed-session-count"`
	AdditionalInfo string     `json:"additional-information,omitempty"`
	ReasonCode     string     `json:"failure-reason-code,omitempty"`
}

// BuildReport makes the report of one policy domain from a period's
// counts, or nil when the period has none for it.
func BuildReport(p Period, domain, org, contact, id string) *Report {
	r := &Report{
		OrganizationName: org,
		DateRange:        ReportRange{Start: p.Start.UTC().Truncate(time.Second), End: p.End.UTC().Truncate(time.Second)},
		ContactInfo:      contact,
		ReportID:         id,
	}
	for _, c := range p.Policies {
		if c.Policy.Domain != domain {
			continue
		}
		rp := ReportPolicy{
			Policy:  ReportPolicyDesc{Type: c.Policy.Type, String: c.Policy.String, Domain: c.Policy.Domain, MXHost: c.Policy.MXHost},
			Summary: ReportSummary{Success: c.Success, Failure: c.Failure},
		}
		for _, f := range c.Failures {
			rf := ReportFailure{Result: f.Result, ReceivingMX: f.ReceivingMX, ReceivingHELO: f.ReceivingHELO,
				Count: f.Count, AdditionalInfo: f.AdditionalInfo, ReasonCode: f.ReasonCode}
			if f.SendingMTAIP.IsValid() {
				rf.SendingMTAIP = f.SendingMTAIP.String()
			}
			if f.ReceivingIP.IsValid() {
				rf.ReceivingIP = f.ReceivingIP.String()
			}
			rp.FailureDetails = append(rp.FailureDetails, rf)
		}
		r.Policies = append(r.Policies, rp)
	}
	if len(r.Policies) == 0 {
		return nil
	}
	return r
}

// Gzip returns the report as gzip-compressed JSON
// (application/tlsrpt+gzip, RFC 8460 5.1).
func (r *Report) Gzip() ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FileName is the report's file name (RFC 8460 5.1):
// "sender!policy-domain!begin!end!id.json.gz", times as Unix seconds.
func (r *Report) FileName(sender string) string {
	domain := ""
	if len(r.Policies) > 0 {
		domain = r.Policies[0].Policy.Domain
	}
	id := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			return c
		}
		return -1
	}, r.ReportID)
	return fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", sender, domain, r.DateRange.Start.Unix(), r.DateRange.End.Unix(), id)
}

// Mail returns the report as an RFC 5322 message (RFC 8460 5.3): a
// multipart/report of report-type "tlsrpt" with a text part and the
// gzipped JSON attached, with the TLS-Report-Domain and
// TLS-Report-Submitter headers. from is the reporting address, to the
// rua address, submitter the reporting host's domain.
func (r *Report) Mail(from, to, submitter string, date time.Time) ([]byte, error) {
	gz, err := r.Gzip()
	if err != nil {
		return nil, err
	}
	domain := r.Policies[0].Policy.Domain
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "tlsrpt-" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", "<"+from+">")
	h("To", "<"+to+">")
	h("Date", date.Format(time.RFC1123Z))
	h("Subject", mime.QEncoding.Encode("utf-8", fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, submitter, r.ReportID)))
	h("Message-ID", fmt.Sprintf("<%s@%s>", hex.EncodeToString(rnd[:]), submitter))
	h("TLS-Report-Domain", domain)
	h("TLS-Report-Submitter", submitter)
	h("MIME-Version", "1.0")
	h("Content-Type", fmt.Sprintf("multipart/report; report-type=\"tlsrpt\"; boundary=\"%s\"", boundary))
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is an aggregate TLS report from %s for %s.\r\n\r\n", submitter, domain)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n", boundary, r.FileName(submitter))
	writeBase64Lines(&b, gz)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// Reporter sends the daily reports: for each policy domain of a period,
// it looks up the "_smtp._tls" TXT record, mails the report to its
// mailto: addresses through Send (the queue), and posts it to its
// https: addresses with HTTPClient (RFC 8460 5.3 and 5.4).
type Reporter struct {
	// Resolver answers the TXT queries.
	Resolver TXTResolver
	// Recorder holds the counts.
	Recorder *Recorder
	// Organization and Contact fill organization-name and contact-info;
	// Submitter is this host's domain (TLS-Report-Submitter); From is
	// the reports' sender address.
	Organization, Contact, Submitter, From string
	// Send queues a message for delivery.
	Send func(ctx context.Context, from string, to []string, msg []byte) error
	// HTTPClient, when set, posts reports to https: destinations;
	// they are skipped when nil. Each post is bounded by PostTimeout.
	HTTPClient *http.Client
	// PostTimeout bounds one https: post; DefaultRPTPostTimeout when 0.
	PostTimeout time.Duration
	// Logger receives what was sent and what failed; discarded when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// SendPeriod takes the recorder's period and sends its reports. It
// returns the number of reports queued.
func (rp *Reporter) SendPeriod(ctx context.Context) (int, error) {
	log := rp.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if rp.Now != nil {
		now = rp.Now
	}
	p := rp.Recorder.Take()
	sent := 0
	var firstErr error
	for _, d := range p.Domains() {
		txts, err := rp.Resolver.LookupTXT(ctx, "_smtp._tls."+d)
		if err != nil {
			log.Warn("TLS-RPT record lookup failed", "domain", d, "error", err.Error())
			continue
		}
		var rec RPTRecord
		n := 0
		for _, t := range txts {
			if strings.HasPrefix(t, "v=TLSRPTv1") {
				n++
				if r, err := ParseRPTRecord(t); err == nil {
					rec = r
				}
			}
		}
		if n != 1 || len(rec.RUA) == 0 {
			continue // RFC 8460 3: none or several: no reports
		}
		var id [8]byte
		rand.Read(id[:])
		r := BuildReport(p, d, rp.Organization, rp.Contact, p.Start.UTC().Format("2006-01-02T15:04:05Z")+"_"+d+"_"+hex.EncodeToString(id[:]))
		if r == nil {
			continue
		}
		for _, u := range rec.RUA {
			if u.Scheme != "https" || rp.HTTPClient == nil {
				continue
			}
			if err := rp.post(ctx, u.String(), r); err != nil {
				log.Warn("TLS-RPT report not posted", "domain", d, "url", u.String(), "error", err.Error())
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			log.Info("TLS-RPT report posted", "domain", d, "url", u.String(), "report_id", r.ReportID)
			sent++
		}
		for _, to := range rec.MailtoAddrs() {
			msg, err := r.Mail(rp.From, to, rp.Submitter, now())
			if err == nil {
				err = rp.Send(ctx, rp.From, []string{to}, msg)
			}
			if err != nil {
				log.Warn("TLS-RPT report not sent", "domain", d, "to", to, "error", err.Error())
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			log.Info("TLS-RPT report sent", "domain", d, "to", to, "report_id", r.ReportID)
			sent++
		}
	}
	return sent, firstErr
}

// DefaultRPTPostTimeout bounds an https: report post.
const DefaultRPTPostTimeout = 60 * time.Second

// post sends the gzipped report to an https: destination (RFC 8460 5.4:
// POST, application/tlsrpt+gzip; any 2xx is success).
func (rp *Reporter) post(ctx context.Context, url string, r *Report) error {
	gz, err := r.Gzip()
	if err != nil {
		return err
	}
	to := rp.PostTimeout
	if to <= 0 {
		to = DefaultRPTPostTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/tlsrpt+gzip")
	resp, err := rp.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	return nil
}

// Run sends a report period every interval (a day, RFC 8460 4.1; a
// day when interval is not positive) until ctx is done.
func (rp *Reporter) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rp.SendPeriod(ctx)
		}
	}
}
