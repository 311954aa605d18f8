package smtp

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// submissionServer starts a seed-001 submission listener (STARTTLS + AUTH
// required) and a submissions listener (implicit TLS) sharing one sink.
func submissionServers(t *testing.T) (sub, subs string, k *sink, f *testutil.TLSFixture) {
	f = testutil.NewTLS(t)
	k = &sink{}
	a := interopAuth(t)
	sub, _ = startServer(t, NewSubmission("mail.example.jp", f.ServerConfig(), a, nil, DataFunc(k.Data)), nil)
	s2 := NewSubmissions("mail.example.jp", f.ServerConfig(), a, nil, DataFunc(k.Data))
	subs, _ = startServer(t, s2, s2.serverTLS())
	return sub, subs, k, f
}

func port(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testutil.RequireBinary(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func checkDelivered(t *testing.T, k *sink, n int, user, subject string) {
	t.Helper()
	msgs := k.list()
	if len(msgs) != n {
		t.Fatalf("%d messages delivered, want %d", len(msgs), n)
	}
	m := msgs[n-1]
	if m.env.Conn.AuthUser != user || m.env.Conn.TLS == nil || !bytes.Contains(m.data, []byte(subject)) {
		t.Fatalf("delivered auth=%q tls=%v data=%q", m.env.Conn.AuthUser, m.env.Conn.TLS != nil, m.data)
	}
}

func TestSwaksSubmission(t *testing.T) {
	sub, subs, k, f := submissionServers(t)
	for i, mech := range []string{"PLAIN", "LOGIN"} {
		run(t, "", "swaks", "--server", "127.0.0.1", "--port", port(t, sub), "--from", "alice@example.jp", "--to", "bob@example.org",
			"--tls", "--tls-verify", "--tls-ca-path", f.CertFile, "--auth", mech, "--auth-user", "alice", "--auth-password", "secret",
			"--pipeline", "--header", "Subject: swaks "+mech, "--helo", "client.example.jp")
		checkDelivered(t, k, i+1, "alice", "Subject: swaks "+mech)
	}
	run(t, "", "swaks", "--server", "127.0.0.1", "--port", port(t, subs), "--tls-on-connect", "--tls-verify", "--tls-ca-path", f.CertFile,
		"--from", "alice@example.jp", "--to", "bob@example.org", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret",
		"--header", "Subject: swaks 465")
	checkDelivered(t, k, 3, "alice", "Subject: swaks 465")
	// A wrong password is refused and nothing is delivered.
	cmd := exec.Command("swaks", "--server", "127.0.0.1", "--port", port(t, sub), "--from", "alice@example.jp", "--to", "bob@example.org",
		"--tls", "--tls-verify", "--tls-ca-path", f.CertFile, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "535 5.7.8") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
	if n := len(k.list()); n != 3 {
		t.Fatalf("%d delivered", n)
	}
}

func TestSwaksPort25(t *testing.T) {
	f := testutil.NewTLS(t)
	k := &sink{}
	addr, _ := startServer(t, NewMTA("mail.example.jp", f.ServerConfig(), nil, DataFunc(k.Data)), nil)
	out := run(t, "", "swaks", "--server", "127.0.0.1", "--port", port(t, addr), "--from", "sender@example.org", "--to", "user@example.jp",
		"--tls", "--tls-verify", "--tls-ca-path", f.CertFile, "--pipeline", "--header", "Subject: to port 25")
	if !strings.Contains(out, "250 2.0.0 Ok: queued as") {
		t.Fatalf("swaks said:\n%s", out)
	}
	msgs := k.list()
	if len(msgs) != 1 || msgs[0].env.Conn.TLS == nil || msgs[0].env.Conn.AuthUser != "" {
		t.Fatalf("delivered %+v", msgs)
	}
	// AUTH is not offered on port 25.
	cmd := exec.Command("swaks", "--server", "127.0.0.1", "--port", port(t, addr), "--from", "a@example.org", "--to", "user@example.jp",
		"--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "Host did not advertise authentication") {
		t.Fatalf("AUTH on port 25: %v\n%s", err, b)
	}
}

const smtplibScript = `
import smtplib, ssl, sys
port, port465, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
msg = "From: alice@example.jp\r\nTo: bob@example.org\r\nSubject: smtplib %s\r\n\r\nhello\r\n"
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("client.example.jp")
try:
    s.login("alice", "secret")
    sys.exit("login before STARTTLS worked")
except smtplib.SMTPNotSupportedError:
    pass
code, _ = s.mail("alice@example.jp")
assert code == 530, code
s.starttls(context=ctx)
s.ehlo("client.example.jp")
assert "starttls" not in s.esmtp_features
s.login("alice", "secret")
s.sendmail("alice@example.jp", ["bob@example.org", "carol@example.org"], msg % "plain")
s.quit()
s = smtplib.SMTP("127.0.0.1", port)
s.starttls(context=ctx)
s.ehlo("client.example.jp")
s.user, s.password = "alice", "secret"
code, resp = s.auth("LOGIN", s.auth_login)
assert code == 235, (code, resp)
s.sendmail("alice@example.jp", ["bob@example.org"], msg % "login")
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", port465, context=ctx)
s.login("alice", "secret")
try:
    s.login("alice", "secret")
except smtplib.SMTPException:
    pass
s.sendmail("alice@example.jp", ["bob@example.org"], msg % "465")
s.quit()
print("ok")
`

func TestSmtplibSubmission(t *testing.T) {
	sub, subs, k, f := submissionServers(t)
	out := run(t, "", "python3", "-c", smtplibScript, port(t, sub), port(t, subs), f.CertFile)
	if !strings.Contains(out, "ok") {
		t.Fatalf("python said %s", out)
	}
	checkDelivered(t, k, 3, "alice", "Subject: smtplib 465")
	if to := k.list()[0].env.To; len(to) != 2 {
		t.Fatalf("recipients %+v", to)
	}
}

func TestCurlSubmission(t *testing.T) {
	sub, subs, k, f := submissionServers(t)
	msg := "From: alice@example.jp\r\nTo: bob@example.org\r\nSubject: curl %s\r\n\r\nhello from curl\r\n"
	for i, mech := range []string{"PLAIN", "LOGIN"} {
		run(t, strings.Replace(msg, "%s", mech, 1), "curl", "-sS", "--url", "smtp://127.0.0.1:"+port(t, sub), "--ssl-reqd", "--cacert", f.CertFile,
			"--mail-from", "alice@example.jp", "--mail-rcpt", "bob@example.org", "-u", "alice:secret", "--login-options", "AUTH="+mech, "-T", "-")
		checkDelivered(t, k, i+1, "alice", "Subject: curl "+mech)
	}
	run(t, strings.Replace(msg, "%s", "465", 1), "curl", "-sS", "--url", "smtps://127.0.0.1:"+port(t, subs), "--cacert", f.CertFile,
		"--mail-from", "alice@example.jp", "--mail-rcpt", "bob@example.org", "-u", "alice:secret", "-T", "-")
	checkDelivered(t, k, 3, "alice", "Subject: curl 465")
}
