package main

import (
	"crypto/tls"
	"io"
	"time"

	"github.com/yubinmail/yubin/config"
)

// startParams are the settings serve reads itself; setup reads the
// servers' own. Reading them in one place lets buildAll read exactly
// what a start reads.
type startParams struct {
	logFormat, hostname, syslogName string
	maillogFile, syslogFacility     string
	listen                          []listenSpec
	metricsListen                   string
	minTLS                          uint16
	queueSocket                     string
	shutdownTimeout                 time.Duration
}

func readStartParams(c *config.Config) startParams {
	return startParams{
		logFormat:       c.Get("log_format"),
		hostname:        c.Get("myhostname"),
		syslogName:      c.Get("syslog_name"),
		maillogFile:     c.Get("maillog_file"),
		syslogFacility:  c.Get("syslog_facility"),
		listen:          listenSpecs(c),
		metricsListen:   c.Get("metrics_listen"),
		minTLS:          tlsVersion(c.Get("ssl_min_protocol")),
		queueSocket:     queueSocket(c),
		shutdownTimeout: c.Duration("shutdown_timeout"),
	}
}

// ownerOf resolves mail_owner for a start (or adduser) as root.
func ownerOf(c *config.Config) (*account, string, error) {
	return chooseOwner(c.Get("mail_owner"), c.IsSet("mail_owner"), c.Bool("allow_nobody_mail_owner"), lookupOwner)
}

// buildAll reads the configuration the way a start does and builds every
// server and the queue a start would run, without binding, writing or
// starting anything. "fullserver check" runs it over a view with a
// config.ReadLog to find the settings that nothing reads; so does
// TestEveryParameterIsRead.
func buildAll(cfg *config.Config) error {
	sp := readStartParams(cfg)
	h := &host{
		cfg:     cfg,
		dry:     true,
		m:       newMetrics(),
		running: map[string]protoServer{},
		log:     newLogger(io.Discard, sp.logFormat, sp.hostname, sp.syslogName),
	}
	h.cur.Store(cfg)
	// Read when started as root; whether the user exists is the
	// start's business, not the configuration's.
	ownerOf(cfg)
	passScheme(cfg)                // adduser, passwd and pw hash with it
	cfg.Get("dovecot_config_file") // loadAll read it
	certFiles(cfg)
	usesDefaultCert(cfg)
	h.tlsConf = &tls.Config{MinVersion: sp.minTLS}
	for _, s := range sp.listen {
		h.binds = append(h.binds, &bound{service: s.service})
	}
	_, err := h.setup()
	for _, c := range h.closers {
		c.Close()
	}
	return err
}

// unusedWarnings writes one warning line for each setting of cfg that
// has no effect, as postconf warns about unused parameters, after
// buildAll ran over cfg.WithReadLog(l). It returns how many it wrote.
func unusedWarnings(w io.Writer, cfg *config.Config, l *config.ReadLog) int {
	n := 0
	for _, st := range l.Unused(cfg) {
		p, _ := cfg.Schema().Lookup(st.Name)
		why := "nothing in this server reads it"
		switch {
		case p.Compat:
			why = "accepted for compatibility, without effect: " + p.Doc
		case knownOnly(cfg.Schema(), st.Name):
			why = knownWhy(cfg.Schema(), st.Name)
		case st.Service != "":
			why = "the " + st.Service + " service does not use it"
		}
		where := st.Pos.String()
		if where == "" {
			where = st.Pos.File
		}
		io.WriteString(w, "fullserver: warning: "+where+": "+st.Key()+" = "+truncateValue(st.Value)+": unused parameter ("+why+")\n")
		n++
	}
	return n
}

func truncateValue(v string) string {
	if len(v) > 60 {
		return v[:57] + "..."
	}
	return v
}
