package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
)

// syslogFacilities are syslog_facility's values (RFC 5424 6.2.1).
var syslogFacilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// syslogWriter sends the maillog handler's lines to the local syslog
// daemon's socket (/dev/log) as Postfix does when maillog_file is unset
// and log_format = syslog: one datagram per line, "<PRI>Mmm dd
// hh:mm:ss program[pid]: message", the daemon adding the host name. The
// connection is made again once when a send fails (syslog restarted).
type syslogWriter struct {
	path     string
	facility int
	mu       sync.Mutex
	conn     net.Conn
}

// newSyslogWriter connects to the syslog socket at path (unixgram, or
// unix stream when the daemon listens so).
func newSyslogWriter(path, facility string) (*syslogWriter, error) {
	f, ok := syslogFacilities[strings.ToLower(facility)]
	if !ok {
		return nil, fmt.Errorf("syslog_facility = %s: unknown facility", facility)
	}
	w := &syslogWriter{path: path, facility: f}
	if err := w.connect(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *syslogWriter) connect() error {
	var err error
	for _, network := range []string{"unixgram", "unix"} {
		var c net.Conn
		if c, err = net.Dial(network, w.path); err == nil {
			w.conn = c
			return nil
		}
	}
	return fmt.Errorf("syslog socket %s: %w", w.path, err)
}

// send writes one line at the record's level.
func (w *syslogWriter) send(level slog.Level, line []byte) error {
	sev := 6 // info
	switch {
	case level >= slog.LevelError:
		sev = 3
	case level >= slog.LevelWarn:
		sev = 4
	}
	msg := append([]byte(fmt.Sprintf("<%d>", w.facility*8+sev)), line...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		if _, err := w.conn.Write(msg); err == nil {
			return nil
		}
		w.conn.Close()
		w.conn = nil
	}
	if err := w.connect(); err != nil {
		return err
	}
	_, err := w.conn.Write(msg)
	return err
}

// Close closes the connection to the syslog daemon.
func (w *syslogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return nil
	}
	return w.conn.Close()
}

// Write lets the writer stand where an io.Writer is wanted (messages
// written before the logger exists); it sends p at info level.
func (w *syslogWriter) Write(p []byte) (int, error) {
	return len(p), w.send(slog.LevelInfo, []byte(strings.TrimSuffix(string(p), "\n")))
}
