package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestManageSieveUpload: with protocols = … sieve the fullserver serves
// ManageSieve; a script uploaded over STARTTLS with the user's password
// lands in the user's Pigeonhole storage next to the Maildir (the
// default static userdb has no home), with the active link;
// sieve_quota_max_scripts is enforced; a wrong password is refused.
func TestManageSieveUpload(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "protocols = imap sieve\nmanagesieve_port = 0\nsieve_quota_max_scripts = 2\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	port := in.ports["sieve"]
	if port == 0 {
		t.Fatalf("no sieve listener in the welcome text:\n%s", in.stdout.String())
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	var w io.Writer = conn
	read := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				t.Fatalf("read: %v after %q", err, b.String())
			}
			if strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "NO") || strings.HasPrefix(line, "BYE") {
				return b.String()
			}
		}
	}
	cmd := func(s string) string {
		t.Helper()
		fmt.Fprintf(w, "%s\r\n", s)
		return read()
	}
	if g := read(); !strings.Contains(g, "\"STARTTLS\"") || !strings.Contains(g, "\"SIEVE\" \"fileinto") {
		t.Fatalf("greeting: %q", g)
	}
	if got := cmd("STARTTLS"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("STARTTLS: %q", got)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) // the self-signed certificate
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	r.Reset(tc)
	w = tc
	if got := read(); strings.Contains(got, "STARTTLS") || !strings.Contains(got, "\"SASL\" \"PLAIN LOGIN\"") {
		t.Fatalf("capabilities after STARTTLS: %q", got)
	}
	bad := base64.StdEncoding.EncodeToString([]byte("\x00alice@localhost\x00wrong"))
	if got := cmd(`AUTHENTICATE "PLAIN" "` + bad + `"`); !strings.HasPrefix(got, "NO") {
		t.Fatalf("wrong password: %q", got)
	}
	good := base64.StdEncoding.EncodeToString([]byte("\x00alice@localhost\x00pw-alice"))
	if got := cmd(`AUTHENTICATE "PLAIN" "` + good + `"`); got != "OK \"Logged in.\"\r\n" {
		t.Fatalf("login: %q", got)
	}
	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"[list]\" { fileinto \"Lists\"; }\r\n"
	if got := cmd(fmt.Sprintf("PUTSCRIPT \"lists\" {%d+}\r\n%s", len(script), script)); got != "OK \"PUTSCRIPT completed.\"\r\n" {
		t.Fatalf("PUTSCRIPT: %q", got)
	}
	if got := cmd(`SETACTIVE "lists"`); got != "OK \"Setactive completed.\"\r\n" {
		t.Fatalf("SETACTIVE: %q", got)
	}
	// A script that does not compile is refused with sievec's messages.
	got := cmd("PUTSCRIPT \"bad\" {6+}\r\nfoo;\r\n")
	var n int
	if _, err := fmt.Sscanf(got, "NO {%d}", &n); err == nil { // the messages as a literal
		msg := make([]byte, n+2)
		if _, err := io.ReadFull(r, msg); err != nil {
			t.Fatal(err)
		}
		got += string(msg)
	}
	if !strings.HasPrefix(got, "NO ") || !strings.Contains(got, "bad: line 1: error: unknown command 'foo'") {
		t.Fatalf("PUTSCRIPT of a broken script: %q", got)
	}
	for _, n := range []string{"two", "three"} {
		got := cmd(fmt.Sprintf("PUTSCRIPT %q {5+}\r\nkeep;", n))
		if n == "three" && got != "NO (QUOTA/MAXSCRIPTS) \"Script count quota exceeded (max 2 scripts).\"\r\n" {
			t.Fatalf("sieve_quota_max_scripts = 2, third script: %q", got)
		}
	}
	cmd("LOGOUT")

	home := filepath.Join(in.data, "mail", "localhost", "alice")
	b, err := os.ReadFile(filepath.Join(home, "sieve", "lists.sieve"))
	if err != nil || string(b) != script {
		t.Fatalf("stored script %q, %v", b, err)
	}
	if target, err := os.Readlink(filepath.Join(home, ".dovecot.sieve")); err != nil || target != "sieve/lists.sieve" {
		t.Fatalf("active link %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(home, "sieve", "tmp")); err != nil || !fi.IsDir() {
		t.Fatalf("no tmp/: %v", err)
	}
}
