package smtp

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// tarpitMainCF are the limits both servers of the tarpit tests run with.
const tarpitMainCF = `smtpd_hard_error_limit = 3
smtpd_soft_error_limit = 2
smtpd_error_sleep_time = 2s
smtpd_junk_command_limit = 5
smtpd_recipient_limit = 2
smtpd_recipient_overshoot_limit = 2
`

// tarpitScripts are the sessions both servers get: unknown commands
// (hard and soft error limits), NOOPs (junk command limit) and too many
// recipients (recipient limit and overshoot), one command at a time.
var tarpitScripts = map[string][]string{
	"unknown": slices.Repeat([]string{"XYZZY"}, 8),
	"noop":    slices.Repeat([]string{"NOOP"}, 50),
	"rcpt":    append([]string{"EHLO client.example", "MAIL FROM:<a@client.example>"}, slices.Repeat([]string{"RCPT TO:<b@remote.example>"}, 10)...),
	// A delivered message forgives the errors before it.
	"forgiven": {"XYZZY", "EHLO client.example", "MAIL FROM:<a@client.example>", "RCPT TO:<b@remote.example>", "DATA", ".", "XYZZY", "XYZZY", "XYZZY", "XYZZY"},
}

// tarpitSession runs one script against addr, one command at a time, and
// returns the replies as "code" words, a "*" marking a reply that came
// the tarpit's two seconds late, ending in "EOF" where the server hung up. The
// 421's text is given with host names removed.
func tarpitSession(t *testing.T, addr string, cmds []string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	read := func() (string, bool) {
		start := time.Now()
		var last string
		for {
			l, err := smtpwire.ReadLine(r, 4096)
			if err != nil {
				return "EOF", false
			}
			last = string(l)
			if len(l) < 4 || l[3] != '-' {
				break
			}
		}
		w := last[:3]
		// The tarpit's sleep is two seconds, far more than Postfix
		// needs even to start its cleanup process on a loaded machine.
		if time.Since(start) > 1900*time.Millisecond {
			w += "*"
		}
		if strings.HasPrefix(last, "421") {
			w += "(" + strings.NewReplacer("postfix.example.test ", "", "mail.example.jp ", "").Replace(last[4:]) + ")"
		}
		return w, true
	}
	var out []string
	if g, _ := read(); !strings.HasPrefix(g, "220") {
		t.Errorf("greeting %q", g)
		return ""
	}
	for i, cmd := range cmds {
		if cmd == "." {
			io.WriteString(c, "Subject: forgiven\r\n\r\nbody\r\n.\r\n")
		} else if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			out = append(out, "EOF")
			break
		}
		w, ok := read()
		out = append(out, w)
		if !ok {
			break
		}
		if strings.HasPrefix(w, "421") {
			e, _ := read()
			out = append(out, e)
			break
		}
		if i == len(cmds)-1 {
			io.WriteString(c, "QUIT\r\n")
		}
	}
	return strings.Join(out, " ")
}

// tarpitRun runs every script against addr in parallel.
func tarpitRun(t *testing.T, addr string) map[string]string {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	for name, cmds := range tarpitScripts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := tarpitSession(t, addr, cmds)
			mu.Lock()
			out[name] = got
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// tarpitLogLines picks the "too many errors" lines and the counters of
// the "disconnect from" lines, without the client's name, sorted.
func tarpitLogLines(log string) []string {
	re := regexp.MustCompile(`(too many errors after \S+) from \S+|disconnect from \S+ (.*?)(?:"|$)`)
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+m[2])
		}
	}
	slices.Sort(out)
	return out
}

// TestPostfixTarpit sends the same sessions to the real Postfix 3.7
// smtpd and to yubin's server with the same smtpd_hard_error_limit,
// smtpd_soft_error_limit, smtpd_error_sleep_time,
// smtpd_junk_command_limit, smtpd_recipient_limit and
// smtpd_recipient_overshoot_limit, and compares every reply code, which
// replies were delayed, where the server hung up with "421 4.7.0 Error:
// too many errors", and the log lines that tell of it. yubin's server
// runs twice: with the limits as main.cf parameters of its Policy (how
// fullserver configures it) and as Server fields.
func TestPostfixTarpit(t *testing.T) {
	// Mail accepted by Postfix is discarded, never sent anywhere.
	p := testutil.StartSMTPPostfix(t, tarpitMainCF+"default_transport = discard\n")
	params := restrict.DefaultParams()
	for _, l := range strings.Split(strings.TrimSpace(tarpitMainCF), "\n") {
		k, v, _ := strings.Cut(l, " = ")
		params[k] = v
	}
	params["mynetworks"] = "127.0.0.0/8"
	params["smtpd_relay_restrictions"] = "permit_mynetworks, reject"
	pol, err := restrict.New(params)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	viaParams := &Server{Policy: pol, Backend: DataFunc(k.Data)}
	viaFields := &Server{Backend: DataFunc(k.Data), MaxErrors: 3, SoftErrorLimit: 2, ErrorSleep: 2 * time.Second,
		MaxJunkCommands: 5, MaxRecipients: 2, MaxRecipientOvershoot: 2}
	paramsAddr, paramsLog := startServer(t, viaParams, nil)
	fieldsAddr, _ := startServer(t, viaFields, nil)

	var want, got, got2 map[string]string
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); want = tarpitRun(t, p.Addr()) }()
	go func() { defer wg.Done(); got = tarpitRun(t, paramsAddr) }()
	go func() { defer wg.Done(); got2 = tarpitRun(t, fieldsAddr) }()
	wg.Wait()
	for name := range tarpitScripts {
		if got[name] != want[name] || got2[name] != want[name] {
			t.Errorf("%s:\nPostfix:          %s\nyubin (params):   %s\nyubin (fields):   %s", name, want[name], got[name], got2[name])
		} else {
			t.Logf("%s: %s", name, want[name])
		}
	}
	// The expected shape, so that the comparison cannot pass on two
	// servers that both ignore the limits.
	if !strings.HasPrefix(want["unknown"], "500 500 500* 421*(4.7.0 Error: too many errors) EOF") {
		t.Errorf("Postfix's unknown-command session: %s", want["unknown"])
	}
	// Postfix logs through postlogd, a moment after the sessions end.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(p.Log(), " disconnect from ") < len(tarpitScripts) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	viaParams.Shutdown(ctx)
	wantLog, gotLog := tarpitLogLines(p.Log()), tarpitLogLines(paramsLog.String())
	if !slices.Equal(wantLog, gotLog) {
		t.Errorf("log lines:\nPostfix: %q\nyubin:   %q", wantLog, gotLog)
	}
}
