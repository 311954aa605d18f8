package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/config"
)

// newLogger returns the host's logger: maillog-like lines by default,
//
//	Nov 22 08:00:01 mail yubin/smtpd[4242]: connect from unknown[127.0.0.1]
//
// or one JSON object per line with format "json".
func newLogger(w io.Writer, format, host, name string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil)).With("host", host, "program", name)
	}
	return slog.New(&maillogHandler{w: w, mu: new(sync.Mutex), host: host, name: name, pid: os.Getpid()})
}

// maillogHandler writes records as syslog's mail.log does: time, host,
// program/service[pid], the message, then any attributes as key=value.
// A "service" attribute picks the program suffix (yubin/smtpd,
// yubin/imap) instead of being printed; a "syslog_name" attribute (a
// listener's own syslog_name, as master.cf's "-o
// syslog_name=postfix/submission") replaces the program name, and the
// daemon follows it (postfix/submission/smtpd).
type maillogHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	host  string
	name  string
	pid   int
	attrs []slog.Attr
	group string
}

func (h *maillogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *maillogHandler) Handle(_ context.Context, r slog.Record) error {
	service, name := "", ""
	var kv strings.Builder
	add := func(a slog.Attr) bool {
		if a.Key == "service" && h.group == "" {
			service = a.Value.String()
			return true
		}
		if a.Key == "syslog_name" && h.group == "" {
			name = a.Value.String()
			return true
		}
		if a.Equal(slog.Attr{}) {
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		kv.WriteString(", " + key + "=" + v)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	prog := h.name
	switch {
	case name != "" && service != "":
		prog = name + "/" + daemonName(service)
	case name != "":
		prog = name
	case service != "":
		prog += "/" + serviceProgram(service)
	}
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
	line := fmt.Sprintf("%s %s %s[%d]: %s%s%s\n", t.Format(time.Stamp), h.host, prog, h.pid, level, r.Message, kv.String())
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line)
	return err
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
