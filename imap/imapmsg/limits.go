package imapmsg

// Limits bound the work Parse does for one message. The zero value of a
// field means its default.
type Limits struct {
	// MaxDepth is how deeply multiparts and message/rfc822 parts are
	// descended into; deeper parts are kept as opaque leaves.
	// Default 32.
	MaxDepth int
	// MaxParts is the number of MIME parts (of all levels) recorded;
	// later boundaries are not split. Default 10000.
	MaxParts int
	// MaxHeaderBytes is the most header bytes kept and parsed per header
	// block; the rest of an oversized header is skipped (it still counts
	// in the header's size). Default 1 MiB.
	MaxHeaderBytes int
	// MaxHeaderFields is the most fields kept per header block.
	// Default 10000.
	MaxHeaderFields int
}

// Default limits.
const (
	DefaultMaxDepth        = 32
	DefaultMaxParts        = 10000
	DefaultMaxHeaderBytes  = 1 << 20
	DefaultMaxHeaderFields = 10000
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaderFields <= 0 {
		l.MaxHeaderFields = DefaultMaxHeaderFields
	}
	return l
}
