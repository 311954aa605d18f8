package smtp

import (
	"errors"
	"io"
	"strconv"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// errChunkAborted ends a BDAT transaction's stream on RSET or a lost
// client.
var errChunkAborted = errors.New("smtp: BDAT transaction aborted")

// bdatState is a BDAT transaction in progress (RFC 3030): the Session
// runs in its own goroutine reading the chunks through a pipe, so the
// message is streamed across BDAT commands without being buffered.
type bdatState struct {
	pw     *io.PipeWriter
	done   chan struct{}
	env    *Envelope
	ec     *endCheck
	err    error // the Session's result, valid after done
	size   int64
	tooBig bool
	failed bool // the Session returned early; later chunks are discarded
}

func (b *bdatState) abort() {
	b.pw.CloseWithError(errChunkAborted)
	<-b.done
}

// cmdBdat handles BDAT <size> [LAST].
func (ss *session) cmdBdat(arg string) (ok, fatal bool) {
	size, last, err := smtpwire.ParseBDAT(arg)
	if err != nil {
		ss.reply(501, "5.5.4", "Syntax: BDAT count [LAST]")
		// Without a valid count the chunk cannot be skipped.
		return false, true
	}
	chunk := smtpwire.ChunkReader(ss.r, size)
	ss.dc.SetReadTimeout(orDur(ss.srv.DataTimeout, DefaultTimeout))
	skip := func() bool {
		if _, err := io.Copy(io.Discard, chunk); err != nil {
			ss.lost(err)
			return true
		}
		return false
	}
	if !ss.srv.ext().Has(ExtChunking) {
		if skip() {
			return false, true
		}
		ss.reply(502, "5.5.2", "Error: command not recognized")
		return false, false
	}
	return ss.addChunk("BDAT", size, last, chunk, skip)
}

// addChunk adds one chunk of size bytes, read from chunk, to the BDAT
// transaction (starting it when there is none): a BDAT chunk, or the
// data a BURL URL names. skip reads and drops what chunk has left,
// reporting true when the session is lost.
func (ss *session) addChunk(verb string, size int64, last bool, chunk io.Reader, skip func() bool) (ok, fatal bool) {
	if ss.bdat == nil {
		if !ss.dataReady(verb) {
			return false, skip()
		}
		if last {
			return ss.bdatWhole(verb, size, chunk, skip)
		}
		pr, pw := io.Pipe()
		b := &bdatState{pw: pw, done: make(chan struct{}), env: ss.envelope(true)}
		ss.bdat = b
		go func() {
			defer close(b.done)
			ec, err := ss.deliver(b.env, pr)
			b.ec, b.err = ec, err
			pr.CloseWithError(errChunkAborted)
		}()
	}
	b := ss.bdat
	max := ss.srv.maxMessageBytes()
	if b.tooBig || b.failed || max > 0 && b.size+size > max {
		b.tooBig = b.tooBig || !b.failed
		if skip() {
			b.abort()
			ss.bdat = nil
			return false, true
		}
	} else {
		n, err := io.Copy(b.pw, chunk)
		b.size += n
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, errChunkAborted) {
				// The client went away mid-chunk.
				b.pw.CloseWithError(io.ErrUnexpectedEOF)
				<-b.done
				ss.bdat = nil
				ss.lost(err)
				return false, true
			}
			// The Session stopped reading: discard the rest.
			b.failed = true
			if skip() {
				ss.bdat = nil
				return false, true
			}
		}
	}
	if !last {
		ss.reply(250, "2.0.0", "Ok: "+strconv.FormatInt(size, 10)+" bytes")
		return true, false
	}
	if b.tooBig {
		b.pw.CloseWithError(smtpwire.ErrTooBig)
	} else {
		b.pw.Close()
	}
	<-b.done
	ss.bdat = nil
	return ss.finish(verb, b.env, b.ec, b.err, b.tooBig, false), false
}

// bdatWhole handles a message sent as one "BDAT <size> LAST" (the usual
// case for messages up to a client's chunk size): the Session reads the
// chunk straight from the connection, without the pipe and goroutine a
// message in several chunks needs.
func (ss *session) bdatWhole(verb string, size int64, chunk io.Reader, skip func() bool) (ok, fatal bool) {
	env := ss.envelope(true)
	if max := ss.srv.maxMessageBytes(); max > 0 && size > max {
		if skip() {
			return false, true
		}
		return ss.finish(verb, env, nil, nil, true, false), false
	}
	ec, err := ss.deliver(env, chunk)
	// What the Session left unread is read and dropped; a client gone
	// mid-chunk ends the session (the Session saw the short read).
	if skip() {
		return false, true
	}
	return ss.finish(verb, env, ec, err, false, false), false
}
