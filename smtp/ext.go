package smtp

// Extensions is a set of ESMTP extensions a Server offers or a Client saw.
type Extensions uint32

// The extensions yubin implements. STARTTLS and AUTH are offered by a
// Server when TLSConfig and Auth are set, not through this set.
const (
	ExtPipelining          Extensions = 1 << iota // RFC 2920
	ExtSize                                       // RFC 1870
	Ext8BitMIME                                   // RFC 6152
	ExtSMTPUTF8                                   // RFC 6531
	ExtEnhancedStatusCodes                        // RFC 2034
	ExtDSN                                        // RFC 3461
	ExtChunking                                   // RFC 3030 BDAT
	ExtBinaryMIME                                 // RFC 3030 BODY=BINARYMIME (needs ExtChunking)
	ExtStartTLS                                   // RFC 3207 (Client: server offered it)
	ExtAuth                                       // RFC 4954 (Client: server offered it)
	// ExtVRFYAdvertise lists VRFY in the EHLO reply when EnableVRFY is set
	// (Postfix does; off by default).
	ExtVRFYAdvertise
)

// DefaultExtensions is what a Server with a zero Ext offers: the list of
// a typical Postfix 3.7 EHLO reply (PIPELINING, SIZE, ENHANCEDSTATUSCODES, 8BITMIME,
// DSN, SMTPUTF8, CHUNKING).
const DefaultExtensions = ExtPipelining | ExtSize | Ext8BitMIME | ExtSMTPUTF8 |
	ExtEnhancedStatusCodes | ExtDSN | ExtChunking

// Has reports whether all extensions in x are in e.
func (e Extensions) Has(x Extensions) bool { return e&x == x }
