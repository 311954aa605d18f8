package queue

import (
	"fmt"
	"io"
	"time"
)

// writeNotice is a stand-in until the DSN writer lands.
func (q *Queue) writeNotice(w io.Writer, e *entry, kind dsnKind, ns []notice) error {
	env := e.m.env
	fmt.Fprintf(w, "From: MAILER-DAEMON@%s\r\nTo: <%s>\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: %s\r\n\r\n", q.Hostname, env.From, time.Now().Format(time.RFC1123Z))
	for _, n := range ns {
		fmt.Fprintf(w, "<%s>: %s\r\n", env.Recipients[n.idx].Addr, n.res.Text)
	}
	return nil
}

// scanHeader is a stand-in until the header scanner lands.
func scanHeader(r io.Reader, limit int) (int, []string, error) { return 0, nil, nil }
