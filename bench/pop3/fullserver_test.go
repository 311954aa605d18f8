package main

import (
	"fmt"
	"os"
	"path/filepath"
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
	dir := testutil.SharedDir(b) // reachable by mail_owner after the privilege drop
	if bin == "" {
		bin = testutil.BuildFullserver(b, dir, nil)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	stored := "{PLAIN}" + benchPassword
	if scheme != "" {
		var err error
		if stored, err = auth.Hash(scheme, benchPassword); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "passwd"), []byte("alice:"+stored+"::::::\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cf := filepath.Join(dir, "main.cf")
	conf := testutil.FullserverConfig(data) + fmt.Sprintf(`myhostname = pop.example.jp
mydestination = example.jp
protocols = pop3
pop3_port = 0
pop3s_port =
ssl = no
disable_plaintext_auth = no
mail_location = maildir:%s/%%n/Maildir
mail_max_userip_connections = 1000
login_max_connections_per_ip = 1000
%s
`, homes, os.Getenv("POP3_BENCH_FULLSERVER_CF"))
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	fs := testutil.StartFullserver(b, bin, cf, filepath.Join(dir, "maillog"))
	addr := fs.Addr("pop3")
	if addr == "" {
		b.Fatalf("fullserver has no pop3 listener: %v", fs.Addrs)
	}
	return addr, fs.PID()
}
