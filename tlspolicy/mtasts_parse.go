package tlspolicy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of the MTA-STS parsers.
const (
	// MaxSTSPolicySize is the largest policy file read (RFC 8461 3.3
	// says 64 KiB).
	MaxSTSPolicySize = 64 << 10
	// MaxSTSMX bounds the mx lines of a policy.
	MaxSTSMX = 100
	// MaxSTSMaxAge is the largest max_age honoured (RFC 8461 3.2: one
	// year, 31557600 seconds).
	MaxSTSMaxAge = 31557600 * time.Second
	// maxTXT bounds a TXT record read by the parsers here.
	maxTXT = 4096
)

// STSMode is an MTA-STS policy mode (RFC 8461 5).
type STSMode string

// The modes.
const (
	STSEnforce STSMode = "enforce"
	STSTesting STSMode = "testing"
	STSNone    STSMode = "none"
)

// STSRecord is the "_mta-sts" TXT record (RFC 8461 3.1).
type STSRecord struct {
	// ID changes whenever the policy changes.
	ID string
}

var errSTSRecord = errors.New("malformed MTA-STS record")

// ParseSTSRecord parses "v=STSv1; id=20160831085700Z;". The version
// must come first; unknown fields are ignored (RFC 8461 3.1).
func ParseSTSRecord(s string) (STSRecord, error) {
	if len(s) > maxTXT {
		return STSRecord{}, errSTSRecord
	}
	fields := strings.Split(s, ";")
	var r STSRecord
	for i, f := range fields {
		f = strings.Trim(f, " \t")
		if f == "" && i == len(fields)-1 {
			break
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return STSRecord{}, errSTSRecord
		}
		switch {
		case i == 0:
			if k != "v" || v != "STSv1" {
				return STSRecord{}, errSTSRecord
			}
		case k == "id":
			if v == "" || len(v) > 32 || !isAlnum(v) {
				return STSRecord{}, errSTSRecord
			}
			r.ID = v
		}
	}
	if r.ID == "" {
		return STSRecord{}, errSTSRecord
	}
	return r, nil
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// STSPolicy is an MTA-STS policy file (RFC 8461 3.2).
type STSPolicy struct {
	Mode STSMode
	// MX are the patterns of the MX hosts allowed ("mx.example.com",
	// "*.example.net"), lower case.
	MX     []string
	MaxAge time.Duration
	// Text is the policy as fetched (for TLS-RPT's policy-string), with
	// line ends normalised to one line per field.
	Text []string
}

// ParseSTSPolicy parses a policy file: "key: value" lines ended by CRLF
// or LF (RFC 8461 3.2). version, mode and max_age are required; mx is
// required unless mode is none. Unknown keys are ignored.
func ParseSTSPolicy(b []byte) (*STSPolicy, error) {
	if len(b) > MaxSTSPolicySize {
		return nil, fmt.Errorf("MTA-STS policy larger than %d bytes", MaxSTSPolicySize)
	}
	p := &STSPolicy{}
	var version, maxAge bool
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errors.New("malformed MTA-STS policy line")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			if v != "STSv1" {
				return nil, fmt.Errorf("MTA-STS policy version %q", truncate(v, 20))
			}
			version = true
		case "mode":
			switch m := STSMode(v); m {
			case STSEnforce, STSTesting, STSNone:
				p.Mode = m
			default:
				return nil, fmt.Errorf("MTA-STS policy mode %q", truncate(v, 20))
			}
		case "max_age":
			if v == "" || len(v) > 10 || strings.Trim(v, "0123456789") != "" {
				return nil, errors.New("malformed MTA-STS max_age")
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, errors.New("malformed MTA-STS max_age")
			}
			p.MaxAge = min(time.Duration(n)*time.Second, MaxSTSMaxAge)
			maxAge = true
		case "mx":
			if len(p.MX) >= MaxSTSMX {
				return nil, fmt.Errorf("MTA-STS policy with more than %d mx lines", MaxSTSMX)
			}
			pat := normalizeHost(v)
			if !validSTSPattern(pat) {
				return nil, fmt.Errorf("malformed MTA-STS mx pattern %q", truncate(v, 80))
			}
			p.MX = append(p.MX, pat)
		default:
			continue
		}
		p.Text = append(p.Text, k+": "+v)
	}
	if !version || p.Mode == "" || !maxAge {
		return nil, errors.New("MTA-STS policy lacks version, mode or max_age")
	}
	if p.Mode != STSNone && len(p.MX) == 0 {
		return nil, errors.New("MTA-STS policy has no mx lines")
	}
	return p, nil
}

// validSTSPattern accepts a host name, or "*." and a host name.
func validSTSPattern(p string) bool {
	p = strings.TrimPrefix(p, "*.")
	if p == "" || len(p) > 253 {
		return false
	}
	for _, l := range strings.Split(p, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// MatchMX reports whether host matches one of the policy's mx patterns
// (RFC 8461 4.1): exactly, or for "*.example.com" with exactly one more
// label in front.
func (p *STSPolicy) MatchMX(host string) bool {
	host = normalizeHost(host)
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if first, tail, ok := strings.Cut(host, "."); ok && first != "" && tail == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// String returns the policy's fields on one line, for logs.
func (p *STSPolicy) String() string { return strings.Join(p.Text, "; ") }
