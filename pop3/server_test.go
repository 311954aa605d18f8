package pop3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

const (
	msg1 = "From: a@example.org\nSubject: one\n\nHello\n.leading dot\n..two dots\n.\nend\n"
	msg2 = "From: b@example.org\r\nSubject: two\r\n\r\nbody line 1\r\nbody line 2\r\nbody line 3\r\n"
	msg3 = "Subject: no final newline\n\nlast line without LF"
)

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func TestGreetingAndCapaBeforeLogin(t *testing.T) {
	e := startServer(t, &Server{Greeting: "hello there", LoginDelay: 90 * time.Second, Expire: ExpireNever})
	c := e.dial()
	c.send("CAPA")
	c.expect("+OK")
	capa := c.multi()
	for _, want := range []string{"TOP\r\n", "UIDL\r\n", "RESP-CODES\r\n", "PIPELINING\r\n", "AUTH-RESP-CODE\r\n", "USER\r\n", "SASL PLAIN LOGIN\r\n", "LOGIN-DELAY 90\r\n", "EXPIRE NEVER\r\n"} {
		if !strings.Contains(capa, want) {
			t.Errorf("CAPA lacks %q:\n%s", want, capa)
		}
	}
	if strings.Contains(capa, "STLS") {
		t.Errorf("STLS offered without TLSConfig:\n%s", capa)
	}
	c.cmd("QUIT", "+OK")
	if !c.closed() {
		t.Fatal("connection open after QUIT")
	}
}

func TestGreetingText(t *testing.T) {
	e := startServer(t, &Server{Greeting: "hello there"})
	c, err := dialRaw(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(buf)
	// The test authenticator can give plaintext credentials: APOP stamp.
	if !regexp.MustCompile(`^\+OK hello there <[0-9a-f]+\.[0-9]+@localhost>\r\n$`).Match(buf[:n]) {
		t.Fatalf("greeting %q", buf[:n])
	}
}

func TestUserPassTransaction(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	infos := e.inbox("alice")
	c := e.login("alice", "secret")
	var total int64
	for _, m := range infos {
		total += m.Size
	}
	c.cmd("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.cmd("LIST", "+OK 3 messages")
	want := fmt.Sprintf("1 %d\r\n2 %d\r\n3 %d\r\n", infos[0].Size, infos[1].Size, infos[2].Size)
	if got := c.multi(); got != want {
		t.Fatalf("LIST = %q, want %q", got, want)
	}
	c.cmd("LIST 2", fmt.Sprintf("+OK 2 %d", infos[1].Size))
	c.cmd("NOOP", "+OK")
	for i, m := range []string{msg1, msg2, msg3} {
		c.cmd(fmt.Sprintf("RETR %d", i+1), fmt.Sprintf("+OK %d octets", infos[i].Size))
		body := unstuff(c.multi())
		want := crlf(m)
		if !strings.HasSuffix(want, "\r\n") {
			want += "\r\n" // the terminator needs a line of its own
		}
		if body != want {
			t.Errorf("RETR %d = %q, want %q", i+1, body, want)
		}
		if int64(len(crlf(m))) != infos[i].Size {
			t.Errorf("size of message %d: store %d, wire %d", i+1, infos[i].Size, len(crlf(m)))
		}
	}
	c.cmd("QUIT", "+OK Logging out.")
	if got := e.inbox("alice"); len(got) != 3 {
		t.Fatalf("%d messages after QUIT without DELE", len(got))
	}
}

func TestDotStuffing(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	c.cmd("RETR 1", "+OK")
	raw := c.multi()
	for _, want := range []string{"\r\n..leading dot\r\n", "\r\n...two dots\r\n", "\r\n..\r\nend\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("RETR body lacks %q: %q", want, raw)
		}
	}
}

func TestTop(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg2, msg3)
	c := e.login("alice", "secret")
	c.cmd("TOP 1 0", "+OK")
	if got, want := c.multi(), "From: b@example.org\r\nSubject: two\r\n\r\n"; got != want {
		t.Fatalf("TOP 1 0 = %q, want %q", got, want)
	}
	c.cmd("TOP 1 2", "+OK")
	if got, want := c.multi(), "From: b@example.org\r\nSubject: two\r\n\r\nbody line 1\r\nbody line 2\r\n"; got != want {
		t.Fatalf("TOP 1 2 = %q", got)
	}
	c.cmd("TOP 1 100", "+OK")
	if got := c.multi(); got != crlf(msg2) {
		t.Fatalf("TOP 1 100 = %q", got)
	}
	c.cmd("TOP 2 5", "+OK")
	if got := c.multi(); got != crlf(msg3)+"\r\n" {
		t.Fatalf("TOP 2 5 = %q", got)
	}
	c.cmd("TOP 1", "-ERR")
	c.cmd("TOP 1 x", "-ERR Invalid number of lines")
	c.cmd("QUIT", "+OK")
	// TOP does not mark messages seen.
	for _, m := range e.inbox("alice") {
		if m.Flags.System&store.Seen != 0 {
			t.Fatalf("TOP set \\Seen on UID %d", m.UID)
		}
	}
}

func TestUIDLDefaultFormat(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2)
	infos := e.inbox("alice")
	st := e.openStore("alice")
	status, err := st.Status(context.Background(), store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	c := e.login("alice", "secret")
	c.cmd("UIDL", "+OK")
	want := fmt.Sprintf("1 %08x%08x\r\n2 %08x%08x\r\n", infos[0].UID, status.UIDValidity, infos[1].UID, status.UIDValidity)
	if got := c.multi(); got != want {
		t.Fatalf("UIDL = %q, want %q", got, want)
	}
	c.cmd("UIDL 2", fmt.Sprintf("+OK 2 %08x%08x", infos[1].UID, status.UIDValidity))
	c.cmd("QUIT", "+OK")
	// Stable across sessions.
	c = e.login("alice", "secret")
	c.cmd("UIDL", "+OK")
	if got := c.multi(); got != want {
		t.Fatalf("second session UIDL = %q, want %q", got, want)
	}
}

func TestUIDLFileNameFormat(t *testing.T) {
	e := startServer(t, &Server{UIDLFormat: "%f"})
	e.deliver("alice", msg1)
	infos := e.inbox("alice")
	c := e.login("alice", "secret")
	c.cmd("UIDL 1", "+OK 1 "+infos[0].FileName)
}

func TestServeRejectsBadUIDLFormat(t *testing.T) {
	srv := &Server{UIDLFormat: "%m"}
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); err == nil || err == ErrServerClosed {
		t.Fatalf("Serve with %%m = %v, want a format error", err)
	}
}

func TestDeleteOnlyAtQuit(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	c := e.login("alice", "secret")
	c.cmd("DELE 2", "+OK")
	c.cmd("STAT", "+OK 2 ")
	c.cmd("LIST 2", "-ERR Message is deleted.")
	c.cmd("RETR 2", "-ERR Message is deleted.")
	c.cmd("DELE 2", "-ERR Message is deleted.")
	c.send("LIST")
	c.expect("+OK 2 messages")
	if got := c.multi(); strings.Contains(got, "2 ") && strings.HasPrefix(strings.Split(got, "\r\n")[1], "2 ") {
		t.Fatalf("LIST shows deleted message: %q", got)
	}
	if n := len(e.inbox("alice")); n != 3 {
		t.Fatalf("%d messages before QUIT, want 3", n)
	}
	c.cmd("RSET", "+OK")
	c.cmd("STAT", "+OK 3 ")
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 3", "+OK")
	c.cmd("QUIT", "+OK Logging out, messages deleted.")
	got := e.inbox("alice")
	if len(got) != 1 || !strings.Contains(subjectOf(t, e, got[0].UID), "two") {
		t.Fatalf("after QUIT: %+v", got)
	}
}

func subjectOf(t *testing.T, e *env, uid uint32) string {
	st := e.openStore("alice")
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	r, err := mb.Open(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := make([]byte, r.Size())
	r.ReadAt(b, 0)
	return string(b)
}

func TestDisconnectBeforeQuitDeletesNothing(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2)
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 2", "+OK")
	c.conn.Close()
	waitSessions(t, e.srv)
	if n := len(e.inbox("alice")); n != 2 {
		t.Fatalf("%d messages after a disconnect without QUIT, want 2", n)
	}
}

func TestDisconnectDuringRetrDeletesNothing(t *testing.T) {
	e := startServer(t, &Server{})
	big := "Subject: big\n\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 64<<10)
	e.deliver("alice", big, msg1)
	c := e.login("alice", "secret")
	c.cmd("DELE 2", "+OK")
	c.send("RETR 1")
	c.expect("+OK")
	buf := make([]byte, 1000)
	c.r.Read(buf)
	c.conn.Close() // 4 MiB still to come
	waitSessions(t, e.srv)
	infos := e.inbox("alice")
	if len(infos) != 2 {
		t.Fatalf("%d messages after disconnect during RETR, want 2", len(infos))
	}
	if infos[0].Flags.System&store.Seen != 0 {
		t.Fatal("interrupted RETR set \\Seen")
	}
}

func waitSessions(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if srv.sessions.Len() == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("sessions did not end")
}

func TestRetrSetsSeen(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2)
	c := e.login("alice", "secret")
	c.cmd("RETR 2", "+OK")
	c.multi()
	c.cmd("QUIT", "+OK")
	infos := e.inbox("alice")
	if infos[0].Flags.System&store.Seen != 0 || infos[1].Flags.System&store.Seen == 0 {
		t.Fatalf("flags after RETR 2: %v %v", infos[0].Flags, infos[1].Flags)
	}
}

func TestNoFlagUpdates(t *testing.T) {
	e := startServer(t, &Server{NoFlagUpdates: true})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	c.cmd("RETR 1", "+OK")
	c.multi()
	c.cmd("QUIT", "+OK")
	if infos := e.inbox("alice"); infos[0].Flags.System&store.Seen != 0 {
		t.Fatal("RETR set \\Seen with NoFlagUpdates")
	}
}

func TestBadInput(t *testing.T) {
	e := startServer(t, &Server{MaxBadCommands: 100})
	e.deliver("alice", msg1, msg2)
	c := e.dial()
	c.cmd("STAT", "-ERR Unknown command or not logged in yet.")
	c.cmd("RETR 1", "-ERR")
	c.cmd("PASS x", "-ERR No user name given")
	c.cmd("FOOBAR", "-ERR Unknown command: FOOBAR")
	c.cmd("XTND", "-ERR Unknown command: XTND")
	c.cmd("", "-ERR Empty command line.")
	c.cmd("US\x00ER alice", "-ERR NUL byte")
	c.cmd("USER "+strings.Repeat("a", 300), "-ERR Command line too long")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH] Authentication failed.")
	c.cmd("USER alice", "+OK")
	c.cmd("pass secret", "+OK Logged in.")
	c.cmd("USER alice", "-ERR Already logged in.")
	c.cmd("STLS", "-ERR Already logged in.")
	for _, cmdline := range []string{"RETR 0", "RETR 3", "LIST 4294967295", "DELE 99999999999", "UIDL 3", "TOP 3 1"} {
		c.cmd(cmdline, "-ERR There's no message")
	}
	for _, cmdline := range []string{"RETR x", "RETR -1", "LIST +1", "DELE 1x"} {
		c.cmd(cmdline, "-ERR Invalid message number")
	}
	c.cmd("RETR", "-ERR RETR takes one message number.")
	c.cmd("STAT 1", "+OK 2 ") // arguments ignored, as in Dovecot
	c.cmd("LIST 1 2", "-ERR")
	c.cmd("STAT", "+OK 2 ")
	c.cmd("QUIT", "+OK")
}

func TestTooManyBadCommands(t *testing.T) {
	e := startServer(t, &Server{MaxBadCommands: 3})
	c := e.dial()
	c.cmd("XYZ", "-ERR")
	c.cmd("XYZ", "-ERR")
	c.cmd("XYZ", "-ERR")
	c.expect("-ERR Too many bad commands")
	if !c.closed() {
		t.Fatal("connection stayed open")
	}
}

func TestLineLimitIncludesCRLF(t *testing.T) {
	e := startServer(t, &Server{})
	c := e.dial()
	c.cmd("USER "+strings.Repeat("a", 255-7), "+OK")                        // 255 with CRLF
	c.cmd("USER "+strings.Repeat("a", 255-6), "-ERR Command line too long") // 256
	c.cmd("NOOP", "-ERR")                                                   // the session carries on
}

func TestPipelining(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg2)
	c := e.dial()
	c.send("USER alice\r\nPASS secret\r\nSTAT\r\nUIDL 1\r\nRETR 1\r\nQUIT")
	c.expect("+OK")
	c.expect("+OK Logged in.")
	c.expect("+OK 1 ")
	c.expect("+OK 1 ")
	c.expect("+OK ")
	if got := c.multi(); got != crlf(msg2) {
		t.Fatalf("pipelined RETR = %q", got)
	}
	c.expect("+OK Logging out")
}

func TestPlaintextRefusedBeforeTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	a := &testAuthenticator{users: map[string]string{"alice": "secret"}, insecureDenied: true}
	e := startServer(t, &Server{Authenticator: a, TLSConfig: fx.ServerConfig()})
	e.deliver("alice", msg1)
	c := e.dial()
	c.send("CAPA")
	c.expect("+OK")
	capa := c.multi()
	if !strings.Contains(capa, "STLS\r\n") || strings.Contains(capa, "USER\r\n") || strings.Contains(capa, "SASL") {
		t.Fatalf("CAPA before TLS:\n%s", capa)
	}
	c.cmd("USER alice", "-ERR [AUTH] Plaintext authentication disallowed")
	c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")), "-ERR [AUTH] Plaintext")
	c.cmd("STLS", "+OK Begin TLS")
	tc := tlsClient(t, c, fx)
	tc.send("CAPA")
	tc.expect("+OK")
	capa = tc.multi()
	if strings.Contains(capa, "STLS") || !strings.Contains(capa, "USER\r\n") || !strings.Contains(capa, "SASL PLAIN LOGIN") {
		t.Fatalf("CAPA after STLS:\n%s", capa)
	}
	tc.cmd("STLS", "-ERR TLS is already active.")
	tc.cmd("USER alice", "+OK")
	tc.cmd("PASS secret", "+OK Logged in.")
	tc.cmd("STAT", "+OK 1 ")
	tc.cmd("QUIT", "+OK")
}

func TestImplicitTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	srv := &Server{TLSConfig: fx.ServerConfig()}
	e := startServer(t, srv)
	e.deliver("alice", msg1)
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	c := tlsDial(t, l.Addr().String(), fx)
	c.expect("+OK")
	c.send("CAPA")
	c.expect("+OK")
	if capa := c.multi(); strings.Contains(capa, "STLS") {
		t.Fatalf("STLS offered on implicit TLS:\n%s", capa)
	}
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK Logged in.")
	c.cmd("RETR 1", "+OK")
	if got := unstuff(c.multi()); got != crlf(msg1) {
		t.Fatalf("RETR over TLS = %q", got)
	}
	c.cmd("QUIT", "+OK")
}

func TestAuthPlain(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	c := e.dial()
	c.cmd("AUTH PLAIN "+ir, "+OK Logged in.")
	c.cmd("STAT", "+OK 1 ")
	c.cmd("QUIT", "+OK")

	c = e.dial()
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd(ir, "+OK Logged in.")
	c.cmd("QUIT", "+OK")

	c = e.dial()
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd("*", "-ERR Authentication aborted")
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd("!!notbase64", "-ERR Invalid base64")
	c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong")), "-ERR [AUTH] Authentication failed.")
	c.cmd("AUTH CRAM-MD5", "-ERR Unsupported")
	c.cmd("AUTH LOGIN", "+ "+base64.StdEncoding.EncodeToString([]byte("Username:")))
	c.cmd(base64.StdEncoding.EncodeToString([]byte("bob")), "+ ")
	c.cmd(base64.StdEncoding.EncodeToString([]byte("pw bob")), "+OK Logged in.")
	c.cmd("QUIT", "+OK")

	c = e.dial()
	c.send("AUTH")
	c.expect("+OK")
	if got := c.multi(); got != "PLAIN\r\nLOGIN\r\n" {
		t.Fatalf("AUTH list = %q", got)
	}
}

func TestAuthTempFail(t *testing.T) {
	a := &testAuthenticator{users: map[string]string{"alice": "secret"}, tempFail: true}
	e := startServer(t, &Server{Authenticator: a})
	c := e.dial()
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [SYS/TEMP]")
}

// apopDigest reads the greeting and returns the APOP digest function
// for its timestamp.
func apopDigest(t *testing.T, c *client) func(pw string) string {
	t.Helper()
	greeting := c.expect("+OK ")
	stamp := regexp.MustCompile(`<[^>]+>`).FindString(greeting)
	if stamp == "" {
		t.Fatalf("no APOP timestamp in %q", greeting)
	}
	return func(pw string) string {
		sum := md5.Sum([]byte(stamp + pw))
		return hex.EncodeToString(sum[:])
	}
}

func TestAPOP(t *testing.T) {
	e := startServer(t, &Server{APOPFailureDelay: -1})
	e.deliver("alice", msg1)
	c := e.dial0()
	digest := apopDigest(t, c)
	c.cmd("APOP alice "+digest("wrong"), "-ERR [AUTH] Authentication failed.")
	c.cmd("APOP nobody "+digest("secret"), "-ERR [AUTH] Authentication failed.")
	c.cmd("APOP alice", "-ERR APOP takes")
	c.cmd("APOP alice "+strings.ToUpper(digest("secret")), "+OK Logged in.")
	c.cmd("STAT", "+OK 1 ")
}

// TestAPOPFailureDelay: a wrong APOP digest is answered only after the
// failure delay (APOP does not pass through the Authenticator's delay).
func TestAPOPFailureDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := startServer(t, &Server{APOPFailureDelay: delay})
	c := e.dial0()
	digest := apopDigest(t, c)
	start := time.Now()
	c.cmd("APOP alice "+digest("wrong"), "-ERR [AUTH] Authentication failed.")
	if d := time.Since(start); d < delay {
		t.Fatalf("failed APOP answered after %v, want at least %v", d, delay)
	}
}

// TestAPOPUsernameFormat: with auth.Service, APOP user names are
// formatted as for USER/PASS (auth_username_format %Lu: "ALICE" is
// alice).
func TestAPOPUsernameFormat(t *testing.T) {
	e := startRealAuth(t, &Server{APOPFailureDelay: -1})
	e.deliver("alice", msg1)
	c := e.dial0()
	digest := apopDigest(t, c)
	c.cmd("APOP ALICE "+digest("secret"), "+OK Logged in.")
	c.cmd("STAT", "+OK 1 ")
}

func TestNoAPOPWithoutCredentials(t *testing.T) {
	// An Authenticator that cannot give plaintext credentials.
	e := startServer(t, &Server{Authenticator: loginOnly{&testAuthenticator{users: map[string]string{"alice": "secret"}}}})
	c := e.dial0()
	if g := c.expect("+OK "); strings.Contains(g, "<") {
		t.Fatalf("APOP timestamp offered without credentials: %q", g)
	}
	c.cmd("APOP alice 0123456789abcdef0123456789abcdef", "-ERR APOP is not available.")
}

// loginOnly hides LookupCredentials.
type loginOnly struct{ *testAuthenticator }

func (loginOnly) LookupCredentials() {}

func TestLockSession(t *testing.T) {
	e := startServer(t, &Server{LockSession: true})
	e.deliver("alice", msg1)
	c1 := e.login("alice", "secret")
	c2 := e.dial()
	c2.cmd("USER alice", "+OK")
	c2.cmd("PASS secret", "-ERR [IN-USE]")
	c1.cmd("QUIT", "+OK")
	c1.closed()
	waitSessions1(t, e.srv)
	c2.cmd("USER alice", "+OK")
	c2.cmd("PASS secret", "+OK Logged in.")
	// Another user is not affected.
	e.login("bob", "pw bob")
}

// waitSessions1 waits until at most one session is left.
func waitSessions1(t *testing.T, srv *Server) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		srv.mu.Lock()
		n := len(srv.locked)
		srv.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("lock not released")
}

func TestWithoutLockSessionTwoSessions(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1)
	e.login("alice", "secret")
	e.login("alice", "secret")
}

func TestLoginDelay(t *testing.T) {
	e := startServer(t, &Server{LoginDelay: time.Hour})
	c := e.login("alice", "secret")
	c.send("CAPA")
	c.expect("+OK")
	if capa := c.multi(); !strings.Contains(capa, "LOGIN-DELAY 3600\r\n") {
		t.Fatalf("CAPA in TRANSACTION:\n%s", capa)
	}
	c.cmd("QUIT", "+OK")
	c = e.dial()
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [LOGIN-DELAY]")
}

func TestExpireDays(t *testing.T) {
	e := startServer(t, &Server{Expire: 31 * 24 * time.Hour})
	c := e.dial()
	c.send("CAPA")
	c.expect("+OK")
	if capa := c.multi(); !strings.Contains(capa, "EXPIRE 31\r\n") {
		t.Fatalf("CAPA:\n%s", capa)
	}
}

func TestDeletionSeenByOtherSession(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2)
	// An IMAP-like session holds the mailbox open meanwhile.
	st := e.openStore("alice")
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	infos := e.inbox("alice")
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK Logging out, messages deleted.")
	deadline := time.Now().Add(5 * time.Second)
	for {
		changes, err := mb.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			if ch.Kind == store.ChangeExpunge && ch.UID == infos[0].UID {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the other session never saw the expunge")
		}
		select {
		case <-mb.Notify():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestMessageExpungedElsewhere(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1, msg2)
	infos := e.inbox("alice")
	c := e.login("alice", "secret")
	// IMAP expunges message 1 while the POP3 session holds it.
	st := e.openStore("alice")
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(context.Background(), store.UIDSetOf(infos[0].UID), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	c.cmd("RETR 1", "-ERR [SYS/TEMP]")
	c.cmd("RETR 2", "+OK")
	c.multi()
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	if got := e.inbox("alice"); len(got) != 1 || got[0].UID != infos[1].UID {
		t.Fatalf("inbox after QUIT: %+v", got)
	}
}

func TestShutdownTellsIdleSessions(t *testing.T) {
	srv := &Server{}
	e := startServer(t, srv)
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR [SYS/TEMP] Server shutting down.")
	if !c.closed() {
		t.Fatal("connection open after Shutdown")
	}
	if n := len(e.inbox("alice")); n != 1 {
		t.Fatalf("Shutdown deleted messages: %d left", n)
	}
}

func TestMaxConnections(t *testing.T) {
	e := startServer(t, &Server{MaxConnections: 1})
	e.dial()
	c := e.dial0()
	c.expect("-ERR [SYS/TEMP]")
}

func TestIdleTimeout(t *testing.T) {
	e := startServer(t, &Server{IdleTimeout: 200 * time.Millisecond})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	c.expect("-ERR Disconnected for inactivity.")
	if !c.closed() {
		t.Fatal("connection open after the idle timeout")
	}
	if n := len(e.inbox("alice")); n != 1 {
		t.Fatal("a timed-out session deleted messages")
	}
}

// TestIdleTimeoutRefreshed checks that the idle deadline, which a
// session moves only once it is a sixteenth of IdleTimeout old, still
// follows the client: commands sent far more often than that, and ones
// sent less often, keep a session alive well past IdleTimeout.
//
// IdleTimeout is 1.2 s and the slow gap 300 ms, so that a stall of the
// machine (other test binaries run at the same time) of up to 900 ms
// does not fail the test.
func TestIdleTimeoutRefreshed(t *testing.T) {
	e := startServer(t, &Server{IdleTimeout: 1200 * time.Millisecond})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	for _, gap := range []time.Duration{5 * time.Millisecond, 300 * time.Millisecond} {
		for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
			c.cmd("NOOP", "+OK")
			time.Sleep(gap)
		}
	}
	c.cmd("QUIT", "+OK")
}

func TestTLSHandshakeTimeout(t *testing.T) {
	fx := testutil.NewTLS(t)
	srv := &Server{TLSConfig: fx.ServerConfig(), TLSHandshakeTimeout: 200 * time.Millisecond}
	startServer(t, srv)
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	c, err := dialRaw(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 10)); err == nil {
		t.Fatalf("read %d bytes from a server waiting for a TLS handshake", n)
	}
}

func TestCloseEndsSessionsWithoutDeleting(t *testing.T) {
	srv := &Server{}
	e := startServer(t, srv)
	e.deliver("alice", msg1, msg2)
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	srv.Close()
	if !c.closed() {
		t.Fatal("connection open after Close")
	}
	waitSessions(t, srv)
	if n := len(e.inbox("alice")); n != 2 {
		t.Fatalf("Close deleted messages: %d left", n)
	}
	if _, err := dialRaw(e.addr); err == nil {
		t.Fatal("listener still accepting after Close")
	}
}

func TestMaxUserIPConnections(t *testing.T) {
	e := startServer(t, &Server{MaxUserIPConnections: 2})
	c1 := e.login("alice", "secret")
	e.login("alice", "secret")
	c3 := e.dial()
	c3.cmd("USER alice", "+OK")
	c3.cmd("PASS secret", "-ERR [IN-USE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=2).")
	e.login("bob", "pw bob") // another user is not counted
	c1.cmd("QUIT", "+OK")
	c1.closed()
	c3.cmd("USER alice", "+OK")
	c3.cmd("PASS secret", "+OK Logged in.")
}

func TestRetrBinaryBytes(t *testing.T) {
	e := startServer(t, &Server{})
	raw := "Subject: =?UTF-8?B?5L2T?=\n\nnul\x00byte \xff\xfe 8-bit 郵便\nbare\rcr\r\n.\r\n"
	e.deliver("alice", raw)
	size := e.inbox("alice")[0].Size
	c := e.login("alice", "secret")
	c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", size))
	body := unstuff(c.multi())
	if body != crlf(raw) || int64(len(body)) != size {
		t.Fatalf("RETR = %q (%d octets), want %q (%d)", body, len(body), crlf(raw), size)
	}
}

func TestShutdownLetsRetrFinish(t *testing.T) {
	srv := &Server{}
	e := startServer(t, srv)
	big := "Subject: big\n\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 32<<10)
	e.deliver("alice", big)
	c := e.login("alice", "secret")
	c.send("RETR 1")
	c.expect("+OK")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond) // Shutdown is waiting while RETR streams
	if got := unstuff(c.multi()); got != crlf(big) {
		t.Fatalf("RETR cut short by Shutdown: %d octets, want %d", len(got), len(crlf(big)))
	}
	c.expect("-ERR [SYS/TEMP] Server shutting down.")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
}

func TestReplyFlushedBeforePartialPipelinedLine(t *testing.T) {
	e := startServer(t, &Server{})
	c := e.dial()
	c.conn.Write([]byte("NOOP\r\nUSER alice\r\nCA")) // "CAPA" is not complete yet
	c.expect("-ERR")
	c.expect("+OK") // USER is answered without waiting for the rest of CAPA
	c.send("PA")
	c.expect("+OK Capability list follows")
}

// TestRetrUnreadable: a message whose file opens but cannot be read (a
// directory put in its place) gets "-ERR [SYS/TEMP]" before any of the
// reply is sent, and the session goes on.
func TestRetrUnreadable(t *testing.T) {
	e := startServer(t, &Server{})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	files, _ := filepath.Glob(filepath.Join(e.maildirPath("alice"), "cur", "*"))
	if len(files) != 1 {
		t.Fatalf("cur/ holds %v", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(files[0], 0o700); err != nil {
		t.Fatal(err)
	}
	c.cmd("RETR 1", "-ERR [SYS/TEMP] The message cannot be read now.")
	c.cmd("NOOP", "+OK")
	c.cmd("QUIT", "+OK")
}
