package msgauth

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync"
)

// Envelope is what the SMTP session knows about a message's sender.
type Envelope struct {
	ClientIP net.IP
	HELO     string
	MailFrom string // "" for the null sender
	// SPF is a result already computed for this envelope (by an SPF
	// restriction at RCPT time); nil to check SPF here.
	SPF *SPFResult
}

// readers keeps the bufio.Readers Check reads messages through.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// Check judges an incoming message: SPF for the envelope, the DKIM
// signatures, the ARC chain, and the From domain's DMARC policy (a
// failure excused when a trusted ARC sealer vouches, see
// Verifier.TrustedARCSealers). It reads the message
// once and never fails for the message's content: an unreadable header
// is reported as an error only when it exceeds Limits.
func (v *Verifier) Check(ctx context.Context, env Envelope, msg io.Reader) (*Results, error) {
	lim := v.Limits.withDefaults()
	br := readers.Get().(*bufio.Reader)
	br.Reset(msg)
	defer func() { br.Reset(nil); readers.Put(br) }()
	fields, err := readFields(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return nil, err
	}
	res := &Results{}
	// SPF first, in this goroutine: with a warm DNS cache it costs less
	// than the goroutine that overlapped its lookups with the body hash
	// did (scheduling was a fifth of the check's CPU in the server).
	if env.SPF != nil {
		res.SPF = *env.SPF
	} else {
		res.SPF = v.CheckSPF(ctx, env.ClientIP, env.HELO, env.MailFrom)
	}
	// One pass over the body hashes it for every DKIM signature and the
	// ARC chain.
	bodies := &bodyHashes{}
	dk, sigs := prepareDKIM(lim, fields, bodies)
	ac := newARCCheck(fields, lim, bodies)
	if w := bodies.writer(); w != nil {
		if err := copyBody(ctx, w, br); err != nil {
			return nil, err
		}
	}
	if len(sigs) > 0 {
		dctx, cancel := context.WithTimeout(ctx, lim.Timeout)
		finishDKIM(dctx, v.newKeyCache(lim), fields, ac.index(), bodies, sigs)
		cancel()
		v.logDKIM(ctx, dk)
	}
	res.DKIM = dk
	res.ARC = v.finishARC(ctx, lim, ac)
	res.DMARC = v.evaluateDMARC(ctx, lim, fields, res.SPF, res.DKIM)
	v.applyARCOverride(&res.DMARC, res.ARC)
	if v.Logger != nil {
		v.Logger.InfoContext(ctx, "msgauth", "client", env.ClientIP.String(), "spf", res.SPF.Result,
			"dkim", dkimSummary(res.DKIM), "arc", res.ARC.Result, "dmarc", res.DMARC.Result, "from_domain", res.DMARC.From, "disposition", res.DMARC.Disposition)
	}
	return res, nil
}

func dkimSummary(d []DKIMResult) string {
	if len(d) == 0 {
		return ResultNone
	}
	s := ""
	for i, r := range d {
		if i > 0 {
			s += ","
		}
		s += r.Result
		if r.Domain != "" {
			s += "(" + r.Domain + ")"
		}
	}
	return s
}
