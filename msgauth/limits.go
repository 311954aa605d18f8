package msgauth

import "time"

// Limits bound the work msgauth does for one message. A zero field takes
// the default given in its comment.
type Limits struct {
	// MaxHeaderBytes bounds the header section read (1 MiB).
	MaxHeaderBytes int
	// MaxHeaderFields bounds the number of header fields (5000).
	MaxHeaderFields int
	// MaxDKIMSignatures is how many DKIM-Signature fields are verified,
	// from the top; the rest are reported as not checked (5, as
	// Postfix+OpenDKIM hosts commonly configure MaximumSignaturesToVerify
	// ... OpenDKIM's default is 3).
	MaxDKIMSignatures int
	// MaxTXTRecords and MaxTXTBytes bound one TXT answer used for a DKIM
	// key, an SPF policy or a DMARC record (50 records, 16 KiB).
	MaxTXTRecords int
	MaxTXTBytes   int
	// SPFLookups and SPFVoidLookups are RFC 7208 section 4.6.4's limits
	// on DNS-querying terms (10) and on lookups with empty answers (2).
	SPFLookups     int
	SPFVoidLookups int
	// MaxARCSets bounds the ARC sets of a chain (50, RFC 8617's limit);
	// a longer chain fails. MaxARCFieldBytes bounds each ARC header
	// field (16 KiB); a longer one fails the chain.
	MaxARCSets       int
	MaxARCFieldBytes int
	// Timeout bounds all DNS work for one check (20s, RFC 7208 4.6.4).
	Timeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxHeaderBytes, 1<<20)
	def(&l.MaxHeaderFields, 5000)
	def(&l.MaxDKIMSignatures, 5)
	def(&l.MaxTXTRecords, 50)
	def(&l.MaxTXTBytes, 16<<10)
	def(&l.SPFLookups, 10)
	def(&l.SPFVoidLookups, 2)
	def(&l.MaxARCSets, arcMaxInstance)
	def(&l.MaxARCFieldBytes, 16<<10)
	if l.Timeout <= 0 {
		l.Timeout = 20 * time.Second
	}
	return l
}
