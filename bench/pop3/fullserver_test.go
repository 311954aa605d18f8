package main

import (
	"os"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// The "fullserver" contender is examples/fullserver built and run as its
// own process with a private main.cf: only the POP3 listener (port 0,
// its address read from the welcome text), no TLS, alice's Maildir the
// one Dovecot serves (mail_location with %n), alice's password in a
// passwd-file (PLAIN, or the POP3_BENCH_SCHEME both servers use). It is
// what an administrator runs, with the logging, metrics hooks and auth
// service the library wirings leave out. POP3_BENCH_WIRINGS names it
// ("fullserver"); it also runs when the variable is empty.
// POP3_BENCH_FULLSERVER_CF adds main.cf lines (e.g.
// "login_trusted_networks = 127.0.0.0/8", which exempts the load
// generator's logins from the auth penalty). POP3_BENCH_FULLSERVER_ALT
// names a fullserver binary built elsewhere (another commit) that runs
// beside it as the contender "fullserver-alt", with the same
// configuration: a same-run comparison of two builds.

const fullserverName = "fullserver"

// startFullserver starts the fullserver binary bin (built from this tree
// when "") serving the Maildirs homes/<user>/Maildir over POP3 and
// returns its address and PID.
func startFullserver(b *testing.B, bin, homes, scheme string) (string, int) {
	stored := "{PLAIN}" + benchPassword
	if scheme != "" {
		var err error
		if stored, err = auth.Hash(scheme, benchPassword); err != nil {
			b.Fatal(err)
		}
	}
	fs := testutil.StartMailFullserver(b, testutil.MailFullserver{
		Bin:      bin,
		Protocol: "pop3",
		Passwd:   "alice:" + stored + "::::::\n",
		Homes:    homes,
		Extra:    os.Getenv("POP3_BENCH_FULLSERVER_CF"),
	})
	return fs.Addr("pop3"), fs.PID()
}
