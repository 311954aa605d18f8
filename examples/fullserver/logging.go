package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/config"
)

// newLogger returns the host's logger: maillog-like lines by default,
//
//	Nov 22 08:00:01 mail yubin/smtpd[4242]: connect from unknown[127.0.0.1]
//
// or one JSON object per line with format "json". With format "syslog"
// (w is then a *syslogWriter) the lines go to the syslog daemon, without
// the host, which the daemon adds.
func newLogger(w io.Writer, format, host, name string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil)).With("host", host, "program", name)
	}
	return slog.New(&maillogHandler{w: w, mu: new(sync.Mutex), stamp: new(stampCache), host: host, name: name, pid: os.Getpid()})
}

// maillogHandler writes records as syslog's mail.log does: time, host,
// program/service[pid], the message, then any attributes as key=value.
// A "service" attribute picks the program suffix (yubin/smtpd,
// yubin/imap) instead of being printed; a "syslog_name" attribute (a
// listener's own syslog_name, as master.cf's "-o
// syslog_name=postfix/submission") replaces the program name, and the
// daemon follows it (postfix/submission/smtpd). A "program" attribute
// names the daemon as is (yubin/smtp, yubin/qmgr): daemonLogger's lines.
// A "client" attribute is left out: the message names the client, as
// Postfix's "connect from unknown[127.0.0.1]".
type maillogHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	stamp *stampCache // shared by the handler's copies
	host  string
	name  string
	pid   int
	attrs []slog.Attr
	group string
}

func (h *maillogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// lineBufs recycles the buffers log lines are formatted in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (h *maillogHandler) Handle(_ context.Context, r slog.Record) error {
	bp := lineBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			lineBufs.Put(bp)
		}
	}()
	// The attributes go to the end of the line; the service, found
	// among them, goes into the program name at the front, so they are
	// formatted first, into the same buffer, and moved behind.
	kv := (*bp)[:0]
	service, name, program := "", "", ""
	add := func(a slog.Attr) bool {
		if a.Key == "service" && h.group == "" {
			service = a.Value.String()
			return true
		}
		if a.Key == "program" && h.group == "" {
			program = a.Value.String()
			return true
		}
		if a.Key == "syslog_name" && h.group == "" {
			name = a.Value.String()
			return true
		}
		if a.Key == "client" && h.group == "" {
			// The message names the client ("connect from
			// unknown[127.0.0.1]"); the attribute is for JSON logs.
			return true
		}
		if a.Equal(slog.Attr{}) {
			return true
		}
		kv = append(kv, ", "...)
		if h.group != "" {
			kv = append(kv, h.group...)
			kv = append(kv, '.')
		}
		kv = append(kv, a.Key...)
		kv = append(kv, '=')
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			kv = strconv.AppendQuote(kv, v)
		} else {
			kv = append(kv, v...)
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	nkv := len(kv)
	level := ""
	switch {
	case r.Level >= slog.LevelError:
		level = "error: "
	case r.Level >= slog.LevelWarn && !strings.HasPrefix(r.Message, "warning:"):
		level = "warning: "
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	sl := syslogOf(h.w)
	toSyslog := sl != nil
	line := h.stamp.append(kv, t)
	line = append(line, ' ')
	if !toSyslog { // the syslog daemon adds the host
		line = append(line, h.host...)
		line = append(line, ' ')
	}
	switch {
	case program != "":
		if name == "" {
			name = h.name
		}
		line = append(line, name...)
		line = append(line, '/')
		line = append(line, program...)
	case name != "" && service != "":
		line = append(line, name...)
		line = append(line, '/')
		line = append(line, daemonName(service)...)
	case name != "":
		line = append(line, name...)
	default:
		line = append(line, h.name...)
		if service != "" {
			line = append(line, '/')
			line = append(line, serviceProgram(service)...)
		}
	}
	line = append(line, '[')
	line = strconv.AppendInt(line, int64(h.pid), 10)
	line = append(line, "]: "...)
	line = append(line, level...)
	line = append(line, r.Message...)
	line = append(line, line[:nkv]...)
	if toSyslog {
		*bp = line
		return sl.send(r.Level, line[nkv:])
	}
	line = append(line, '\n')
	*bp = line
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line[nkv:])
	if b, ok := h.w.(*batchWriter); ok && r.Level >= slog.LevelError {
		b.Flush() // on disk before whatever follows an error
	}
	return err
}

// syslogOf returns the syslog daemon's writer behind w, directly or
// through the host's reopenWriter, or nil when w writes elsewhere.
func syslogOf(w io.Writer) *syslogWriter {
	switch w := w.(type) {
	case *syslogWriter:
		return w
	case *reopenWriter:
		return w.syslog()
	}
	return nil
}

func (h *maillogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &h2
}

func (h *maillogHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	if h2.group != "" {
		name = h2.group + "." + name
	}
	h2.group = name
	return &h2
}

// serviceProgram names a listener as Postfix and Dovecot name their
// processes in the log.
func serviceProgram(service string) string {
	switch service {
	case "smtp":
		return "smtpd"
	case "submission", "submissions":
		return service + "/smtpd"
	case "imaps":
		return "imap"
	case "pop3s":
		return "pop3"
	}
	return service
}

// serviceLog is the logger of one listener: its service and its view's
// syslog_name ("submission/syslog_name = postfix/submission").
func serviceLog(log *slog.Logger, v *config.Config) *slog.Logger {
	return log.With("service", v.ServiceName(), "syslog_name", v.Get("syslog_name"))
}

// daemonName is the process a listener's log lines name after its
// syslog_name, as Postfix's smtpd and Dovecot's imap and pop3.
func daemonName(service string) string {
	switch service {
	case "smtp", "submission", "submissions":
		return "smtpd"
	case "imaps":
		return "imap"
	case "pop3s":
		return "pop3"
	}
	return service
}

// daemonLogger is the logger of the mail queue's daemons: their
// "service" attributes (qmgr, bounce, and the transports smtp, lmtp,
// local) name the program as is, as Postfix's qmgr, smtp and local log,
// so the SMTP client's lines read "yubin/smtp" and not the SMTP server's
// "yubin/smtpd".
func daemonLogger(log *slog.Logger) *slog.Logger {
	return slog.New(daemonHandler{log.Handler()})
}

// daemonHandler renames top-level "service" attributes to "program".
type daemonHandler struct{ slog.Handler }

func (d daemonHandler) Handle(ctx context.Context, r slog.Record) error {
	r2 := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "service" {
			a.Key = "program"
		}
		r2.AddAttrs(a)
		return true
	})
	return d.Handler.Handle(ctx, r2)
}

func (d daemonHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i, a := range as {
		if a.Key == "service" {
			as = append([]slog.Attr(nil), as...)
			as[i].Key = "program"
		}
	}
	return daemonHandler{d.Handler.WithAttrs(as)}
}

func (d daemonHandler) WithGroup(name string) slog.Handler {
	return daemonHandler{d.Handler.WithGroup(name)}
}
