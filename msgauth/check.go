package msgauth

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
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
		finishDKIM(ctx, v.newKeyCache(lim), fields, ac.index(), bodies, sigs)
		v.logDKIM(ctx, dk)
	}
	res.DKIM = dk
	res.ARC = v.finishARC(ctx, lim, ac)
	res.DMARC = v.evaluateDMARC(ctx, lim, fields, res.SPF, res.DKIM)
	v.applyARCOverride(&res.DMARC, res.ARC)
	if v.Logger != nil {
		v.Logger.LogAttrs(ctx, slog.LevelInfo, "msgauth", slog.String("client", env.ClientIP.String()), slog.String("spf", res.SPF.Result),
			slog.String("dkim", dkimSummary(res.DKIM)), slog.String("arc", res.ARC.Result), slog.String("dmarc", res.DMARC.Result),
			slog.String("from_domain", res.DMARC.From), slog.String("disposition", res.DMARC.Disposition))
	}
	return res, nil
}

func dkimSummary(d []DKIMResult) string {
	switch len(d) {
	case 0:
		return ResultNone
	case 1:
		if d[0].Domain == "" {
			return d[0].Result
		}
		return d[0].Result + "(" + d[0].Domain + ")"
	}
	var b strings.Builder
	for i, r := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.Result)
		if r.Domain != "" {
			b.WriteString("(" + r.Domain + ")")
		}
	}
	return b.String()
}
