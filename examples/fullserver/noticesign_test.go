package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestOpenDKIMVerifiesSignedBounce: with a DKIM key for $mydomain (made
// by "fullserver dkim genkey"), the bounce the queue writes for an
// unknown local user (From: MAILER-DAEMON@$myhostname) reaches the
// sender signed with the RSA and Ed25519 keys, and the real OpenDKIM
// verifies it against the records nsd serves.
func TestOpenDKIMVerifiesSignedBounce(t *testing.T) {
	t.Parallel()
	// The next hop refuses connections and the queue gives up after a second:
	// a bounce.
	in := newInstance(t, "myhostname = mx.yubin.test\nmydomain = yubin.test\nmaximal_queue_lifetime = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 1s\nqueue_run_delay = 1s\nrelayhost = ["+strings.Replace(testutil.RefusedAddr(t), ":", "]:", 1)+"\n")
	os.MkdirAll(in.data, 0o755)
	zone, setting := genDKIMKeys(t, in, "yubin.test")
	f, err := os.OpenFile(in.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(setting)
	f.Close()
	ns := testutil.StartNSD(t, map[string]string{"yubin.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n" + zone})
	in.addUsers("bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('bob@localhost', ['gone@example.org'], 'From: bob@localhost\r\nTo: gone@example.org\r\nSubject: lost\r\n\r\nhello\r\n')
print('SENT')
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "SENT") {
		t.Fatalf("python:\n%s", out)
	}
	bounces := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "bob", "Maildir"), 1)
	if len(bounces) != 1 {
		t.Fatalf("bob's Maildir: %q", bounces)
	}
	b := bounces[0]
	if n := strings.Count(b, "DKIM-Signature:"); n != 2 || !strings.Contains(b, "d=yubin.test") || !strings.Contains(b, "MAILER-DAEMON@mx.yubin.test") {
		t.Fatalf("bounce has %d signatures:\n%s", n, b)
	}
	od := testutil.NewOpenDKIM(t, ns.Addr)
	if v := od.Verify(t, []byte(b)); !v.Pass {
		t.Fatalf("opendkim: %s\n%s", v.Output, b)
	}
}
