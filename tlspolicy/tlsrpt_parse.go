package tlspolicy

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
)

// MaxRUA bounds the rua URIs taken from a TLS-RPT record.
const MaxRUA = 10

// RPTRecord is a "_smtp._tls" TXT record (RFC 8460 3).
type RPTRecord struct {
	// RUA are the report destinations: "mailto:" and "https:" URIs.
	RUA []*url.URL
}

var errRPTRecord = errors.New("malformed TLS-RPT record")

// ParseRPTRecord parses "v=TLSRPTv1; rua=mailto:tlsrpt@example.com". The
// version comes first; rua is required and holds one or more URIs
// separated by commas; other fields are ignored (RFC 8460 3). URIs of
// other schemes, and mailto URIs that are not one address, are
// dropped; a record left without a usable URI is an error.
func ParseRPTRecord(s string) (RPTRecord, error) {
	if len(s) > maxTXT {
		return RPTRecord{}, errRPTRecord
	}
	fields := strings.Split(s, ";")
	var r RPTRecord
	seen := false
	for i, f := range fields {
		f = strings.Trim(f, " \t")
		if f == "" && i == len(fields)-1 {
			break
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return RPTRecord{}, errRPTRecord
		}
		k, v = strings.Trim(k, " \t"), strings.Trim(v, " \t")
		switch {
		case i == 0:
			if k != "v" || v != "TLSRPTv1" {
				return RPTRecord{}, errRPTRecord
			}
		case k == "rua":
			seen = true
			for _, u := range strings.Split(v, ",") {
				if len(r.RUA) >= MaxRUA {
					break
				}
				pu, err := url.Parse(strings.Trim(u, " \t"))
				if err != nil {
					continue
				}
				switch pu.Scheme {
				case "mailto":
					addr, err := url.PathUnescape(pu.Opaque)
					if err != nil || addr == "" || strings.ContainsAny(addr, ",\r\n") {
						continue
					}
					if _, err := mail.ParseAddress(addr); err != nil {
						continue
					}
					pu.Opaque = addr
				case "https":
					if pu.Host == "" {
						continue
					}
				default:
					continue
				}
				r.RUA = append(r.RUA, pu)
			}
		}
	}
	if !seen || len(r.RUA) == 0 {
		return RPTRecord{}, errRPTRecord
	}
	return r, nil
}

// MailtoAddrs returns the addresses of the record's mailto: URIs.
func (r RPTRecord) MailtoAddrs() []string {
	var out []string
	for _, u := range r.RUA {
		if u.Scheme == "mailto" {
			out = append(out, u.Opaque)
		}
	}
	return out
}
