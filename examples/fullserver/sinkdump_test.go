package main

import (
	"os"
	"regexp"
	"strings"
)

// sinkDumpLine is one of the lines smtp-sink's dump puts before the
// message (-d): X-Client-Addr, X-Helo-Args and the like.
var sinkDumpLine = regexp.MustCompile(`^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):`)

// sinkMessage returns the message of an smtp-sink dump, its own lines
// removed, with CRLF line ends.
func sinkMessage(dump string) string {
	lines := strings.Split(strings.ReplaceAll(dump, "\r\n", "\n"), "\n")
	for len(lines) > 0 && sinkDumpLine.MatchString(lines[0]) {
		lines = lines[1:]
	}
	return strings.Join(lines, "\r\n")
}

// appendConfig adds settings to the end of the instance's main.cf.
func (in *instance) appendConfig(text string) {
	in.t.Helper()
	f, err := os.OpenFile(in.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		in.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		in.t.Fatal(err)
	}
}
