package imap

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"

	kflate "github.com/klauspost/compress/flate"
)

// DefaultCompressLevel is the deflate level of COMPRESS=DEFLATE when
// Server.CompressLevel is 0: Go's fastest, whose encoder state is a
// fraction of the higher levels' (which matters with thousands of idle
// sessions); Dovecot's imap_zlib_compress_level is 6.
const DefaultCompressLevel = flate.BestSpeed

// COMPRESS (RFC 4978): after the tagged OK both directions are raw
// deflate streams. Each flush of the response buffer ends with a deflate
// sync flush, so the client can decode every response at once. The
// decompressed input goes through the same line and literal limits as
// plain input, so a compression bomb costs CPU bounded by those limits,
// not memory.
func (c *conn) cmdCompress(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	alg, err := c.r.atom()
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if c.compressed {
		return no("COMPRESSIONACTIVE", "Compression already active.")
	}
	if !strings.EqualFold(alg, "DEFLATE") {
		return no("", "Unknown compression mechanism.")
	}
	level := c.srv.CompressLevel
	if level == 0 {
		level = DefaultCompressLevel
	}
	fw, err := flate.NewWriter(deadlineWriter{c: c.nc, timeout: durOr(c.srv.WriteTimeout, DefaultWriteTimeout)}, level)
	if err != nil {
		return err
	}
	c.tagged(tag, "OK", "", "Begin compression.")
	if err := c.w.flush(); err != nil {
		return err
	}
	// Bytes the client sent after COMPRESS, already buffered, are the
	// start of its compressed stream.
	pending, _ := c.r.br.Peek(c.r.br.Buffered())
	pending = bytes.Clone(pending)
	// The inflater hands out each block's data as soon as the block
	// ends: clients that flush with zlib's Z_PARTIAL_FLUSH (isync's
	// mbsync) send no stored block after a command, and Go's
	// compress/flate would wait for more input before returning it.
	c.r.reset(kflate.NewReaderOpts(io.MultiReader(bytes.NewReader(pending), c.nc), kflate.WithPartialBlock()))
	c.w.reset(syncFlateWriter{fw})
	c.compressed = true
	return errAlreadyAnswered
}

// syncFlateWriter compresses what it is given and sync-flushes after
// each write (the session's buffered writer writes only when it flushes
// or is full).
type syncFlateWriter struct{ fw *flate.Writer }

func (s syncFlateWriter) Write(p []byte) (int, error) {
	n, err := s.fw.Write(p)
	if err == nil {
		err = s.fw.Flush()
	}
	return n, err
}
