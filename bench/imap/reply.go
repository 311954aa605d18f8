package imapbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Limits of the reply reader: a server's reply larger than these is a
// protocol error for this tool (its workload asks for small messages).
const (
	maxReplyLine    = 64 << 10 // one line of a reply, CRLF included
	maxReplyLiteral = 16 << 20 // one literal
	maxReplyTotal   = 32 << 20 // a whole reply, literals included
	maxReplyDepth   = 32       // nested parenthesised lists
	maxSetMembers   = 100000   // numbers in one expanded uid-set
)

// errReplyTooLarge is returned by readReply for a reply beyond the limits.
var errReplyTooLarge = errors.New("reply beyond the reader's limits")

// readReply reads one server reply: a line ending in CRLF and, when it
// ends with a literal's announcement ({n} or ~{n}), the literal and the
// rest of the reply, as many times as it takes. The bytes are returned
// as they came, CRLFs and literals included, for parseReply. A line that
// ends in a bare LF is returned as it came (the parser rejects it).
func readReply(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		start := len(out)
		for {
			chunk, err := br.ReadSlice('\n')
			out = append(out, chunk...)
			if len(out)-start > maxReplyLine || len(out) > maxReplyTotal {
				return out, errReplyTooLarge
			}
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull {
				if err == io.EOF && len(out) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return out, err
			}
		}
		n, ok := literalAnnounced(out[start:])
		if !ok {
			return out, nil
		}
		if n > maxReplyLiteral || int64(len(out))+n > maxReplyTotal {
			return out, errReplyTooLarge
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(br, lit); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return out, err
		}
		out = append(out, lit...)
	}
}

// literalAnnounced reports whether line ends with "{n}\r\n" (or
// "~{n}\r\n") and the size n.
func literalAnnounced(line []byte) (int64, bool) {
	if !bytes.HasSuffix(line, []byte("}\r\n")) {
		return 0, false
	}
	body := line[:len(line)-3]
	i := bytes.LastIndexByte(body, '{')
	if i < 0 || i == len(body)-1 || !digits(string(body[i+1:])) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(body[i+1:]), 10, 64)
	if err != nil {
		n = math.MaxInt64 // beyond any limit
	}
	return n, true
}

// reply is one parsed server reply.
type reply struct {
	Tag string // "*" untagged, "+" continuation request, else a command's tag

	// Status replies (tagged, or untagged OK/NO/BAD/PREAUTH/BYE).
	Status string // "OK", "NO", "BAD", "PREAUTH", "BYE"
	Code   string // response code's atom, upper case, "" when none
	// CodeNum is the number of UIDNEXT, UIDVALIDITY, UNSEEN and
	// HIGHESTMODSEQ, and the UIDVALIDITY of APPENDUID and COPYUID.
	CodeNum uint64
	// CodeSets are APPENDUID's uid-set, and COPYUID's source and
	// destination uid-sets, expanded in the order given.
	CodeSets [][]uint32
	Text     string

	// Untagged data.
	Kind  string   // "EXISTS", "RECENT", "EXPUNGE", "FETCH", "FLAGS", "SEARCH", "LIST", ...
	Num   uint32   // the number before EXISTS, RECENT, EXPUNGE, FETCH
	Flags []string // FLAGS; the PERMANENTFLAGS code; LIST's attributes
	Nums  []uint32 // SEARCH's numbers; VANISHED's UIDs, expanded
	// ModSeq is SEARCH's (MODSEQ n) and VANISHED has none.
	ModSeq  uint64
	Earlier bool // VANISHED (EARLIER)
	Mailbox string
	// Items are STATUS's attributes and numbers.
	Items map[string]uint64
	Words []string // CAPABILITY and ENABLED
	Fetch *fetchData
}

// fetchData is the message data of a FETCH reply the model uses.
type fetchData struct {
	Items     []string // every item's name in order, upper case, sections included
	UID       uint32
	Flags     []string
	HasFlags  bool
	ModSeq    uint64
	HasModSeq bool
}

// parseReply parses one reply as readReply returned it, with RFC 3501's
// and RFC 9051's formal syntax (and that of the extensions the workload
// uses: UIDPLUS, CONDSTORE, QRESYNC, ENABLE, ID, NAMESPACE, ESEARCH,
// LIST-EXTENDED); anything else is an error.
func parseReply(b []byte) (r *reply, err error) {
	p := &parser{b: b}
	r = &reply{}
	defer func() {
		switch e := recover().(type) {
		case nil:
		case parseError:
			r, err = nil, fmt.Errorf("%s at byte %d of %q", string(e), p.i, clip(b, 200))
		default:
			panic(e)
		}
	}()
	p.response(r)
	return r, nil
}

// clip shortens b for an error message.
func clip(b []byte, n int) []byte {
	if len(b) > n {
		return append(append([]byte{}, b[:n]...), "..."...)
	}
	return b
}
