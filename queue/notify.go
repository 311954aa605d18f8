package queue

import (
	"bytes"
	"context"
	"fmt"
)

// dsnKind is what a notice to the sender reports.
type dsnKind int

const (
	dsnFailure dsnKind = iota // undeliverable: a bounce
	dsnDelay                  // still being retried
	dsnSuccess                // delivered (NOTIFY=SUCCESS)
)

var dsnLogNames = [...]string{"sender non-delivery notification", "sender delay notification", "sender delivery status notification"}

// notify sends the sender a DSN about some recipients of e: a new
// message from the null sender, queued like any other. Nothing is sent
// for a message from the null sender (a bounce is never bounced, so
// bounce loops cannot happen).
func (q *Queue) notify(e *entry, kind dsnKind, ns []notice) {
	env := e.m.env
	if env.From == "" {
		q.log.Info(fmt.Sprintf("%s: %s: none (null sender)", env.ID, dsnLogNames[kind]), "service", "bounce")
		return
	}
	var buf bytes.Buffer
	if err := q.writeNotice(&buf, e, kind, ns); err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, dsnLogNames[kind], err), "service", "bounce")
		return
	}
	denv := &Envelope{
		From:       "",
		Recipients: []Recipient{{Addr: env.From, Notify: "NEVER"}},
		Client:     Client{Protocol: "local"},
	}
	id, err := q.Enqueue(context.Background(), denv, &buf)
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, dsnLogNames[kind], err), "service", "bounce")
		return
	}
	q.log.Info(fmt.Sprintf("%s: %s: %s", env.ID, dsnLogNames[kind], id), "service", "bounce")
}
