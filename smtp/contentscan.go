package smtp

import (
	"bufio"
	"io"

	"github.com/yubinmail/yubin/restrict"
)

// ContentScanner is implemented by a ContentChecker that inspects the
// message as Postfix's cleanup(8) does, MIME part by MIME part
// (*restrict.Policy does: see restrict.ContentScan). When the Policy
// has it, the server uses it instead of CheckHeaders and CheckBody:
// mime_header_checks and nested_header_checks apply to the headers of
// body parts, body_checks_size_limit to each body part, and
// mime_nesting_limit is enforced. MaxHeaderBytes and MaxBodyCheckBytes
// do not apply then: the Policy's header_size_limit and
// body_checks_size_limit do.
type ContentScanner interface {
	NewContentScan() *restrict.ContentScan
}

// contentScanner returns the Policy's ContentScanner, if it has one.
func contentScanner(cc ContentChecker) func() *restrict.ContentScan {
	if cs, ok := cc.(ContentScanner); ok {
		return cs.NewContentScan
	}
	return nil
}

// scanStep feeds the next line (or piece of one) to the message's
// ContentScan and queues what it passes on.
func (f *contentFilter) scanStep() {
	line, err := f.src.ReadSlice('\n')
	var out []byte
	if len(line) > 0 {
		o, d, cerr := f.scan.Feed(f.ss.ctx, line)
		if !f.verdict(d, cerr) {
			return
		}
		out = o
	}
	if err == io.EOF {
		if len(out) > 0 {
			out = append([]byte(nil), out...) // End reuses the scan's buffer
		}
		o, d, cerr := f.scan.End(f.ss.ctx)
		if !f.verdict(d, cerr) {
			return
		}
		out = append(out, o...)
	}
	f.out = out
	if err != nil && err != bufio.ErrBufferFull {
		f.err = err
	}
}
