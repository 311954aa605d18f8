package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// openMaillog returns where log lines go: standard error (the service
// manager's journal) when maillog_file is empty, else that file, as
// Postfix 3.4+ writes its maillog_file. The file is opened for appending
// before privileges are dropped, so a root-owned /var/log/yubin.log
// works; "/dev/stdout" and "/dev/stderr" name the process's own streams
// as they do for Postfix. With log_format = syslog and no maillog_file
// the lines go to the local syslog daemon (/dev/log) with
// syslog_facility, as Postfix logs by default.
func openMaillog(sp startParams, stdout, stderr io.Writer) (io.Writer, io.Closer, error) {
	name := sp.maillogFile
	if name == "" && sp.logFormat == "syslog" {
		w, err := newSyslogWriter("/dev/log", sp.syslogFacility)
		if err != nil {
			return nil, nil, err
		}
		return w, w, nil
	}
	switch name {
	case "":
		return stderr, nil, nil
	case "/dev/stdout":
		return stdout, nil, nil
	case "/dev/stderr":
		return stderr, nil, nil
	}
	if !filepath.IsAbs(name) {
		return nil, nil, fmt.Errorf("maillog_file = %s: need an absolute path", name)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("maillog_file: %w", err)
	}
	return f, f, nil
}
