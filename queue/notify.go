package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

var dsnLogNames = [...]string{"sender non-delivery notification", "sender delay notification", "sender delivery status notification"}

// notify sends the sender a DSN about some recipients of e: a new
// message from the null sender, queued like any other. Nothing is sent
// for a message from the null sender (a bounce is never bounced, so
// bounce loops cannot happen), nor when no recipient's NOTIFY asks for
// this kind of notice.
//
// The postmaster gets copies as notify_classes asks (postmaster_notice.go):
// ns are all the recipients concerned, whatever their NOTIFY.
func (q *Queue) notify(e *entry, kind dsnKind, ns []notice) {
	env := e.m.env
	if q.postmasterFirst(e, kind, ns) {
		return
	}
	if env.From == "" {
		q.log.Info(fmt.Sprintf("%s: %s: none (null sender)", env.ID, dsnLogNames[kind]), "service", "bounce")
		return
	}
	var buf bytes.Buffer
	err := q.writeNotice(&buf, e, kind, ns, nil)
	if errors.Is(err, errNoDSNRecipients) {
		q.postmasterCopy(e, kind, ns)
		return
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, dsnLogNames[kind], err), "service", "bounce")
		return
	}
	denv := &Envelope{
		From:       "",
		Recipients: []Recipient{{Addr: env.From, Notify: "NEVER"}},
		UTF8:       env.UTF8,
		Client:     Client{Protocol: "local"},
	}
	id, err := q.Enqueue(context.Background(), denv, q.signedNotice(env.ID, &buf))
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s: %v", env.ID, dsnLogNames[kind], err), "service", "bounce")
		return
	}
	q.log.Info(fmt.Sprintf("%s: %s: %s", env.ID, dsnLogNames[kind], id), "service", "bounce")
	q.postmasterCopy(e, kind, ns)
}

// writeNotice writes the DSN of kind about the recipients ns of e; set,
// if not nil, makes it a postmaster copy.
func (q *Queue) writeNotice(w io.Writer, e *entry, kind dsnKind, ns []notice, set func(*dsnReport)) error {
	env := e.m.env
	r := &dsnReport{
		Kind:       kind,
		Host:       q.Hostname,
		Envelope:   env,
		Size:       e.m.size,
		SizeLimit:  int64(q.limit(q.BounceSizeLimit, defaultBounceSizeLimit)),
		Now:        q.now(),
		WarnAfter:  q.DelayWarning,
		RetryUntil: env.Arrival.Add(q.lifetime(env)),
	}
	for _, n := range ns {
		r.Recipients = append(r.Recipients, dsnRecipient{Recipient: env.Recipients[n.idx], Result: n.res})
	}
	if set != nil {
		set(r)
	}
	rc, err := q.sp.open(e.m)
	if err != nil {
		q.log.Warn(fmt.Sprintf("%s: %s: the message cannot be read for the notice: %v", env.ID, dsnLogNames[kind], err), "service", "bounce")
	} else {
		defer rc.Close()
		r.Content = rc
	}
	return writeDSN(w, r)
}

// lifetime is how long a message may stay in the queue.
func (q *Queue) lifetime(env *Envelope) time.Duration {
	if env.From == "" {
		return dur(q.BounceLifetime, 5*24*time.Hour)
	}
	return dur(q.MaxLifetime, 5*24*time.Hour)
}
