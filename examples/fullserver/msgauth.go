package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
)

// msgauthParams are the settings of DKIM signing and the inbound SPF,
// DKIM and DMARC checks (what OpenDKIM, OpenDMARC and policyd-spf do for
// a Postfix host).
var msgauthParams = []config.Param{
	{Name: "dkim_keys", Default: "", Kind: config.List, Check: checkDKIMKeys, Doc: "DKIM signing keys as domain:selector:keyfile (PEM, see fullserver dkim genkey); mail from SASL-authenticated clients and mynetworks whose From address is in the domain is signed with every key of it"},
	{Name: "dkim_key_table", Default: "", Doc: "OpenDKIM KeyTable file, with dkim_signing_table (keys it selects sign besides those of dkim_keys)"},
	{Name: "dkim_signing_table", Default: "", Doc: "OpenDKIM SigningTable file (refile: patterns)"},
	{Name: "dkim_notice_domain", Default: "$mydomain", Doc: "the domain whose DKIM keys sign the bounces and notices the queue writes when their From domain ($myhostname) has no key of its own"},
	{Name: "msgauth_inbound_checks", Default: "no", Kind: config.Bool, Doc: "yes: check SPF, DKIM and DMARC of mail from other hosts (not SASL-authenticated, not in mynetworks) at the end of DATA and add an Authentication-Results header"},
	{Name: "authserv_id", Default: "$myhostname", Doc: "the authserv-id of the Authentication-Results header; fields with it that arrive with a message are removed"},
	{Name: "dmarc_reject_action", Default: "reject", Check: oneOf("reject", "quarantine", "none"), Doc: "what a DMARC failure under p=reject does: reject (550 5.7.1 at end of DATA), quarantine (as dmarc_quarantine_action), none (deliver, with the header)"},
	{Name: "dmarc_quarantine_action", Default: "hold", Check: oneOf("hold", "junk", "none"), Doc: "what a DMARC failure under p=quarantine does: hold (the hold queue, as OpenDMARC's quarantine in Postfix), junk (delivered into each local recipient's dmarc_quarantine_mailbox) or none"},
	{Name: "dmarc_quarantine_mailbox", Default: "Junk", Doc: "the folder dmarc_quarantine_action = junk delivers into, created when missing"},
	{Name: "msgauth_nameservers", Default: "", Check: optAddr, Doc: "host:port of the DNS server for DKIM, SPF and DMARC lookups (OpenDKIM's Nameservers); empty: the system's resolver"},
}

// checkDKIMKeys checks the dkim_keys syntax (the key files are read at start).
func checkDKIMKeys(v string) error {
	for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		parts := strings.SplitN(e, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return fmt.Errorf("%q: want domain:selector:keyfile", e)
		}
	}
	return nil
}

// msgAuth is one SMTP listener's DKIM signing and inbound checks.
type msgAuth struct {
	signer           *msgauth.Signer   // nil without keys
	verifier         *msgauth.Verifier // nil when inbound checks are off
	authservID       string
	rejectAction     string
	quarantineAction string
	mynets           []netip.Prefix
	maxHeader        int
	log              *slog.Logger
}

// keyStores are the dkim_keys and the OpenDKIM tables: a From address
// gets the keys of both.
type keyStores []msgauth.KeyStore

func (ks keyStores) SigningKeys(from string) []*msgauth.Key {
	var out []*msgauth.Key
	for _, k := range ks {
		out = append(out, k.SigningKeys(from)...)
	}
	return out
}

// msgauthResolver is the DNS for msgauth: msgauth_nameservers or the
// system's, behind a one-minute cache.
func msgauthResolver(v *config.Config) msgauth.Resolver {
	var r msgauth.Resolver = net.DefaultResolver
	if ns := v.Get("msgauth_nameservers"); ns != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, ns)
		}}
	}
	return &msgauth.CachingResolver{Resolver: r, TTL: time.Minute}
}

// newMsgAuth builds a listener's signing and checking from its settings;
// nil when it does neither.
func newMsgAuth(v *config.Config, log *slog.Logger) (*msgAuth, error) {
	a := &msgAuth{
		authservID:       v.Get("authserv_id"),
		rejectAction:     strings.ToLower(v.Get("dmarc_reject_action")),
		quarantineAction: strings.ToLower(v.Get("dmarc_quarantine_action")),
		maxHeader:        int(v.Int("header_size_limit")),
		log:              log,
	}
	if a.maxHeader <= 0 {
		a.maxHeader = 1 << 20
	}
	res := msgauthResolver(v)
	keys, err := loadDKIMKeys(v)
	if err != nil {
		return nil, err
	}
	if keys != nil {
		a.signer = &msgauth.Signer{Keys: keys, Logger: log}
	}
	if v.Bool("msgauth_inbound_checks") {
		a.verifier = &msgauth.Verifier{Resolver: res, Logger: log, TrustedARCSealers: v.List("arc_trusted_sealers"), KeyCache: &msgauth.KeyCache{TTL: time.Minute}, Results: &msgauth.ResultCache{TTL: time.Minute}}
	}
	if a.signer == nil && a.verifier == nil {
		return nil, nil
	}
	nets, err := styleNetworks(v, net.InterfaceAddrs)
	if err != nil {
		return nil, err
	}
	if nets == "" {
		nets = v.Get("mynetworks")
	}
	for _, f := range strings.FieldsFunc(nets, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		f = strings.NewReplacer("[", "", "]", "").Replace(f)
		if p, err := netip.ParsePrefix(f); err == nil {
			a.mynets = append(a.mynets, p.Masked())
		} else if ip, err := netip.ParseAddr(f); err == nil {
			a.mynets = append(a.mynets, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return a, nil
}

func (a *msgAuth) trusted(env *smtp.Envelope) bool {
	if env.Conn.AuthUser != "" {
		return true
	}
	ip, err := netip.ParseAddr(clientIP(env.Conn.RemoteAddr))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.mynets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// apply signs mail from trusted clients and checks mail from others at
// the end of DATA. It returns the message to queue (with the
// DKIM-Signature or Authentication-Results fields added), whether to
// hold it, a function that frees its spool, or the SMTP error to answer
// (a DMARC p=reject failure). It never fails a message for its own
// trouble (a key, DNS, a header it cannot parse): the message goes on
// unchanged and the trouble is logged.
func (a *msgAuth) apply(ctx context.Context, env *smtp.Envelope, msg io.Reader) (io.Reader, bool, func(), error) {
	trusted := a.trusted(env)
	sign := trusted && a.signer != nil
	check := !trusted && a.verifier != nil
	if !sign && !check {
		return msg, false, func() {}, nil
	}
	sp, err := spoolMessage(msg)
	if err != nil {
		return nil, false, func() {}, err
	}
	br := sp.bufReader()
	hdr, err := msgauth.ReadHeader(br, a.maxHeader)
	if err != nil {
		a.log.Warn(fmt.Sprintf("%s: msgauth: %v", env.QueueID, err))
		return sp.reader(), false, sp.free, nil
	}
	var prefix string
	hold := false
	if sign {
		sig, err := a.signer.Sign(ctx, sp.reader())
		switch {
		case err != nil && !errors.Is(err, msgauth.ErrNoFrom):
			a.log.Warn(fmt.Sprintf("%s: dkim: not signed: %v", env.QueueID, err))
		case sig != "":
			prefix = sig
			a.log.Info(fmt.Sprintf("%s: DKIM-Signature field added (%d)", env.QueueID, strings.Count(sig, "DKIM-Signature:")))
		}
		// RFC 8601 5: no field claiming this host's results enters
		// from a client either (arc_sealing would vouch for it).
		var n int
		if hdr, n = msgauth.StripAuthResults(hdr, a.authservID); n > 0 {
			a.log.Info(fmt.Sprintf("%s: removed %d Authentication-Results field(s) claiming %s", env.QueueID, n, a.authservID))
		}
	}
	if check {
		ip := net.ParseIP(clientIP(env.Conn.RemoteAddr))
		res, err := a.verifier.Check(ctx, msgauth.Envelope{ClientIP: ip, HELO: env.Conn.Helo, MailFrom: env.From}, sp.reader())
		if err != nil {
			a.log.Warn(fmt.Sprintf("%s: msgauth: not checked: %v", env.QueueID, err))
		} else {
			var n int
			hdr = stripJunkMarker(hdr)
			hdr, n = msgauth.StripAuthResults(hdr, a.authservID)
			if n > 0 {
				a.log.Info(fmt.Sprintf("%s: removed %d Authentication-Results field(s) claiming %s", env.QueueID, n, a.authservID))
			}
			prefix = res.Header(a.authservID)
			d := res.DMARC
			if d.Result == msgauth.ResultFail {
				action := "none"
				switch d.Disposition {
				case msgauth.DispositionReject:
					action = a.rejectAction
					if action == "quarantine" {
						action = a.quarantineAction
					}
				case msgauth.DispositionQuarantine:
					action = a.quarantineAction
				}
				a.log.Info(fmt.Sprintf("%s: dmarc: %s fail (p=%s), action %s", env.QueueID, d.From, d.Policy, action))
				if d.ARCOverride != "" {
					a.log.Info(fmt.Sprintf("%s: dmarc: failure excused by trusted ARC sealer %s", env.QueueID, d.ARCOverride))
				}
				switch action {
				case "reject":
					sp.free()
					return nil, false, func() {}, &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 7, 1}, Message: "rejected by DMARC policy for " + d.PolicyFrom}
				case "hold":
					hold = true
				case "junk":
					prefix = junkMarkerField(d.From) + prefix
				}
			}
		}
	}
	return io.MultiReader(strings.NewReader(prefix), bytes.NewReader(hdr), br), hold, sp.free, nil
}

// spool holds a message read once so that it can be read again: in
// memory up to spoolMemory bytes, in a temporary file beyond.
type spool struct {
	mem  []byte
	file *os.File
	size int64
	br   *bufio.Reader // from spoolReaders, returned by free
}

const spoolMemory = 1 << 20

// spoolBufs keeps the 64 KiB buffers most messages fit in.
var spoolBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// spoolReaders keeps the bufio.Readers the spools are read through (a
// new 4 KiB one per message was a fifth of apply's own CPU).
var spoolReaders = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

func spoolMessage(r io.Reader) (*spool, error) {
	buf := (*spoolBufs.Get().(*[]byte))[:0]
	for len(buf) < spoolMemory {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return &spool{mem: buf, size: int64(len(buf))}, nil
		}
		if err != nil {
			spoolBufs.Put(&buf)
			return nil, err
		}
	}
	f, err := os.CreateTemp("", "yubin-msgauth-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // unlinked: freed when closed
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return nil, err
	}
	n, err := io.Copy(f, r)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &spool{file: f, size: int64(len(buf)) + n}, nil
}

func (s *spool) reader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// bufReader is a buffered reader of the whole message, valid until free.
func (s *spool) bufReader() *bufio.Reader {
	if s.br == nil {
		s.br = spoolReaders.Get().(*bufio.Reader)
	}
	s.br.Reset(s.reader())
	return s.br
}

// free releases the spool; its readers must no longer be used.
func (s *spool) free() {
	if s.br != nil {
		s.br.Reset(nil)
		spoolReaders.Put(s.br)
		s.br = nil
	}
	if s.file != nil {
		s.file.Close()
	}
	if s.mem != nil && cap(s.mem) == 64<<10 {
		b := s.mem[:0]
		s.mem = nil
		spoolBufs.Put(&b)
	}
}

// policydSPF is the check_policy_service endpoint that msgauth answers
// in-process: "check_policy_service unix:private/policyd-spf", the
// socket name Debian's postfix-policyd-spf-python uses.
const policydSPF = "policyd-spf"

// policyDialer connects check_policy_service to the in-process SPF
// policy server for unix:private/policyd-spf, and to real servers for
// every other endpoint.
func policyDialer(v *config.Config, log *slog.Logger) restrict.PolicyDialer {
	ps := &msgauth.PolicyServer{Verifier: &msgauth.Verifier{Resolver: msgauthResolver(v), Logger: log}, Logger: log}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if network == "unix" && filepath.Base(address) == policydSPF {
			c1, c2 := net.Pipe()
			go ps.ServeConn(context.WithoutCancel(ctx), c2)
			return c1, nil
		}
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
}
