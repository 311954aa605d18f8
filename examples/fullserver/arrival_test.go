package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSmtplibUIDsFollowArrivalOrder: 1,000 messages sent by Python's
// smtplib from 10 concurrent SMTP sessions, 100 each one after another,
// get UIDs that ascend, per session, in the order they were sent (and so
// do POP3 message numbers), whether no IMAP session has the mailbox open
// (deliveries get their UIDs at the next sync) or one idles in it (they
// get them at delivery). The queue delivers in parallel, so this holds
// only because UIDs follow arrival, not delivery.
func TestSmtplibUIDsFollowArrivalOrder(t *testing.T) {
	t.Parallel()
	for _, watched := range []bool{false, true} {
		name := "unwatched"
		if watched {
			name = "watched"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, "")
			os.MkdirAll(in.data, 0o755)
			in.addUsers("bob")
			in.start()
			watch := "False"
			if watched {
				watch = "True"
			}
			out := in.python(pyPrelude+`
import threading, re
WATCH = `+watch+`
if WATCH:
    w = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    w.starttls(ssl_context=ctx)
    w.login('bob@localhost', 'pw-bob')
    w.select('INBOX')
    tag = w._new_tag().decode()
    w.send((tag + ' IDLE\r\n').encode())
    assert w.readline().startswith(b'+'), 'IDLE refused'
errors = []
def session(n):
    try:
        s = smtplib.SMTP('127.0.0.1', P('SMTP'))
        s.ehlo('client%d.example' % n)
        for k in range(100):
            s.sendmail('s%d@example.com' % n, ['bob@localhost'],
                       'From: s%d@example.com\r\nSubject: s%d m%d\r\n\r\nbody\r\n' % (n, n, k))
        s.quit()
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=session, args=(n,)) for n in range(10)]
for t in ts: t.start()
for t in ts: t.join()
assert not errors, errors
wait_mail('bob', 1000)
if WATCH:
    w.send(b'DONE\r\n')
    while not w.readline().startswith(tag.encode()):
        pass
    w.logout()
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, data = m.select('INBOX', readonly=True)
assert data[0] == b'1000', data
typ, data = m.fetch('1:*', '(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
last = {}
bad = []
for item in data:
    if not isinstance(item, tuple):
        continue
    uid = int(re.search(rb'UID (\d+)', item[0]).group(1))
    sn, k = map(int, re.search(rb's(\d+) m(\d+)', item[1]).groups())
    if sn in last and last[sn][1] > k:
        bad.append('UID %d is s%d m%d, after UID %d s%d m%d' % (uid, sn, k, last[sn][0], sn, last[sn][1]))
    last[sn] = (uid, k)
m.logout()
p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob@localhost')
p.pass_('pw-bob')
seen = {}
for i in range(1, 1001):
    resp, lines, octets = p.top(i, 0)
    subj = [l for l in lines if l.startswith(b'Subject:')][0]
    sn, k = map(int, re.search(rb's(\d+) m(\d+)', subj).groups())
    if seen.get(sn, -1) > k:
        bad.append('POP3 message %d is s%d m%d, after m%d' % (i, sn, k, seen[sn]))
    seen[sn] = k
p.quit()
print('out of order: %d' % len(bad))
for b in bad[:10]:
    print(b)
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "POP3="+strconv.Itoa(in.ports["pop3"]))
			if !strings.Contains(out, "out of order: 0\n") {
				t.Errorf("UIDs do not follow arrival order:\n%s", out)
			}
		})
	}
}
