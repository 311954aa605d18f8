package tlspolicy

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// PolicyType is a TLS-RPT policy-type (RFC 8460 4.3).
type PolicyType string

// The policy types.
const (
	PolicyTLSA     PolicyType = "tlsa"
	PolicySTS      PolicyType = "sts"
	PolicyNotFound PolicyType = "no-policy-found"
)

// ResultType is a TLS-RPT result-type (RFC 8460 4.3.2).
type ResultType string

// The result types.
const (
	ResultSTARTTLSNotSupported ResultType = "starttls-not-supported"
	ResultCertHostMismatch     ResultType = "certificate-host-mismatch"
	ResultCertExpired          ResultType = "certificate-expired"
	ResultCertNotTrusted       ResultType = "certificate-not-trusted"
	ResultValidationFailure    ResultType = "validation-failure"
	ResultTLSAInvalid          ResultType = "tlsa-invalid"
	ResultDNSSECInvalid        ResultType = "dnssec-invalid"
	ResultDANERequired         ResultType = "dane-required"
	ResultSTSPolicyFetchError  ResultType = "sts-policy-fetch-error"
	ResultSTSPolicyInvalid     ResultType = "sts-policy-invalid"
	ResultSTSWebPKIInvalid     ResultType = "sts-webpki-invalid"
)

// PolicyRef names the policy a session was held under: its type, the
// policy as text (TLSA records in presentation form, or the MTA-STS
// policy's lines), the policy domain and, for MTA-STS, the mx patterns.
type PolicyRef struct {
	Type   PolicyType
	Domain string
	String []string
	MXHost []string
}

func (p PolicyRef) key() string {
	return string(p.Type) + "\x00" + p.Domain + "\x00" + strings.Join(p.String, "\x01") + "\x00" + strings.Join(p.MXHost, "\x01")
}

// Failure is one failed session's details (RFC 8460 4.3,
// failure-details).
type Failure struct {
	Result         ResultType
	SendingMTAIP   netip.Addr
	ReceivingMX    string
	ReceivingHELO  string
	ReceivingIP    netip.Addr
	AdditionalInfo string
	ReasonCode     string
}

func (f Failure) key() string {
	return string(f.Result) + "\x00" + f.SendingMTAIP.String() + "\x00" + f.ReceivingMX + "\x00" + f.ReceivingHELO + "\x00" + f.ReceivingIP.String() + "\x00" + f.AdditionalInfo + "\x00" + f.ReasonCode
}

// Defaults of Recorder's limits.
const (
	DefaultRPTMaxPolicies = 10000 // policies kept per period
	DefaultRPTMaxFailures = 100   // distinct failure details per policy
)

// Recorder counts, per policy, the sessions that succeeded and those
// that failed with each result type, until Take hands the counts of the
// period over for reporting. It is safe for concurrent use.
type Recorder struct {
	// MaxPolicies and MaxFailures bound memory: sessions beyond them
	// are counted in the summary only (MaxFailures) or dropped
	// (MaxPolicies). Defaults above when 0.
	MaxPolicies, MaxFailures int
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu     sync.Mutex
	start  time.Time
	counts map[string]*PolicyCounts
	order  []string
}

// PolicyCounts are one policy's sessions in a period.
type PolicyCounts struct {
	Policy   PolicyRef
	Success  int64
	Failure  int64
	Failures []FailureCount
}

// FailureCount is a failure detail and how many sessions it had.
type FailureCount struct {
	Failure
	Count int64
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Recorder) entry(p PolicyRef) *PolicyCounts {
	if r.counts == nil {
		r.counts = map[string]*PolicyCounts{}
		r.start = r.now()
	}
	k := p.key()
	c := r.counts[k]
	if c == nil {
		max := r.MaxPolicies
		if max <= 0 {
			max = DefaultRPTMaxPolicies
		}
		if len(r.counts) >= max {
			return nil
		}
		c = &PolicyCounts{Policy: p}
		r.counts[k] = c
		r.order = append(r.order, k)
	}
	return c
}

// Success counts a session that met its policy.
func (r *Recorder) Success(p PolicyRef) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.entry(p); c != nil {
		c.Success++
	}
}

// Fail counts a session that failed its policy, with why.
func (r *Recorder) Fail(p PolicyRef, f Failure) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.entry(p)
	if c == nil {
		return
	}
	c.Failure++
	r.addFailure(c, f, 1)
}

// addFailure adds n sessions with failure detail f to c's details.
func (r *Recorder) addFailure(c *PolicyCounts, f Failure, n int64) {
	k := f.key()
	for i := range c.Failures {
		if c.Failures[i].key() == k {
			c.Failures[i].Count += n
			return
		}
	}
	max := r.MaxFailures
	if max <= 0 {
		max = DefaultRPTMaxFailures
	}
	if len(c.Failures) < max {
		c.Failures = append(c.Failures, FailureCount{Failure: f, Count: n})
	}
}

// Period is the counts of one reporting period.
type Period struct {
	Start, End time.Time
	Policies   []PolicyCounts
}

// Take returns the counts since the last Take (or the first session)
// and starts a new period.
func (r *Recorder) Take() Period {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	p := Period{Start: r.start, End: now}
	if p.Start.IsZero() {
		p.Start = now
	}
	for _, k := range r.order {
		p.Policies = append(p.Policies, *r.counts[k])
	}
	r.counts, r.order, r.start = nil, nil, now
	return p
}

// Peek returns the counts so far without starting a new period.
func (r *Recorder) Peek() Period {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Period{Start: r.start, End: r.now()}
	for _, k := range r.order {
		c := *r.counts[k]
		c.Failures = append([]FailureCount(nil), c.Failures...)
		p.Policies = append(p.Policies, c)
	}
	return p
}

// Domains returns the policy domains of the period, sorted.
func (p Period) Domains() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range p.Policies {
		if !seen[c.Policy.Domain] {
			seen[c.Policy.Domain] = true
			out = append(out, c.Policy.Domain)
		}
	}
	sort.Strings(out)
	return out
}
