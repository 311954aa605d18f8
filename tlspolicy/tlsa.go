package tlspolicy

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TLSA certificate usages (RFC 6698 2.1.1, RFC 7218 acronyms).
const (
	PKIXTA = 0 // unusable for SMTP (RFC 7672 3.1.3)
	PKIXEE = 1 // unusable for SMTP (RFC 7672 3.1.3)
	DANETA = 2
	DANEEE = 3
)

// TLSA selectors and matching types (RFC 6698 2.1.2, 2.1.3).
const (
	SelectorCert = 0
	SelectorSPKI = 1
	MatchFull    = 0
	MatchSHA256  = 1
	MatchSHA512  = 2
)

// MaxTLSAData bounds a TLSA record's association data: a full
// certificate (matching type 0) of up to 16 KiB. Bigger ones are
// rejected as malformed.
const MaxTLSAData = 16 << 10

// TLSA is one TLSA record (RFC 6698 2.1).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte
}

// String returns the record's presentation form, "3 1 1 ab12...".
func (t TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, hex.EncodeToString(t.Data))
}

var errTLSA = errors.New("malformed TLSA record")

// ParseTLSA parses TLSA RDATA in wire form (RFC 6698 2.1): usage,
// selector and matching type octets, then the association data.
func ParseTLSA(rdata []byte) (TLSA, error) {
	if len(rdata) < 4 || len(rdata)-3 > MaxTLSAData {
		return TLSA{}, errTLSA
	}
	t := TLSA{Usage: rdata[0], Selector: rdata[1], MatchingType: rdata[2], Data: bytes.Clone(rdata[3:])}
	return t, t.check()
}

// ParseTLSAText parses a TLSA record in presentation form (RFC 6698
// 2.2): three decimal fields and the data in hex, which may be split by
// white space.
func ParseTLSAText(s string) (TLSA, error) {
	if len(s) > 2*MaxTLSAData+64 {
		return TLSA{}, errTLSA
	}
	f := strings.Fields(s)
	if len(f) < 4 {
		return TLSA{}, errTLSA
	}
	var t TLSA
	for i, p := range []*uint8{&t.Usage, &t.Selector, &t.MatchingType} {
		n, err := strconv.ParseUint(f[i], 10, 8)
		if err != nil {
			return TLSA{}, errTLSA
		}
		*p = uint8(n)
	}
	data, err := hex.DecodeString(strings.Join(f[3:], ""))
	if err != nil || len(data) == 0 || len(data) > MaxTLSAData {
		return TLSA{}, errTLSA
	}
	t.Data = data
	return t, t.check()
}

// check rejects digests of the wrong length (RFC 7671 says such
// records are unusable; they could never match).
func (t TLSA) check() error {
	switch t.MatchingType {
	case MatchSHA256:
		if len(t.Data) != sha256.Size {
			return errTLSA
		}
	case MatchSHA512:
		if len(t.Data) != sha512.Size {
			return errTLSA
		}
	}
	return nil
}

// Usable reports whether an SMTP client can use the record: DANE-TA(2)
// or DANE-EE(3), a known selector and matching type (RFC 7672 3.1.3;
// PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP).
func (t TLSA) Usable() bool {
	return (t.Usage == DANETA || t.Usage == DANEEE) &&
		t.Selector <= SelectorSPKI && t.MatchingType <= MatchSHA512 && t.check() == nil
}

// Matches reports whether cert's selected part matches the record's
// association data.
func (t TLSA) Matches(cert *x509.Certificate) bool {
	var sel []byte
	switch t.Selector {
	case SelectorCert:
		sel = cert.Raw
	case SelectorSPKI:
		sel = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch t.MatchingType {
	case MatchFull:
		return bytes.Equal(sel, t.Data)
	case MatchSHA256:
		h := sha256.Sum256(sel)
		return bytes.Equal(h[:], t.Data)
	case MatchSHA512:
		h := sha512.Sum512(sel)
		return bytes.Equal(h[:], t.Data)
	}
	return false
}

// RecordFor returns the TLSA record of usage, selector and matching
// type that cert matches, as a zone would publish it.
func RecordFor(cert *x509.Certificate, usage, selector, matching uint8) TLSA {
	var sel []byte
	if selector == SelectorSPKI {
		sel = cert.RawSubjectPublicKeyInfo
	} else {
		sel = cert.Raw
	}
	switch matching {
	case MatchSHA256:
		h := sha256.Sum256(sel)
		sel = h[:]
	case MatchSHA512:
		h := sha512.Sum512(sel)
		sel = h[:]
	}
	return TLSA{Usage: usage, Selector: selector, MatchingType: matching, Data: bytes.Clone(sel)}
}

// wire returns the record's RDATA.
func (t TLSA) wire() []byte {
	return append([]byte{t.Usage, t.Selector, t.MatchingType}, t.Data...)
}
