package sieve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memTracker is an in-memory Tracker for tests.
type memTracker struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]time.Time
}

func newMemTracker() *memTracker {
	return &memTracker{now: time.Now, keys: map[string]time.Time{}}
}

func (m *memTracker) Seen(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.keys[key]
	return ok && m.now().Before(exp), nil
}

func (m *memTracker) Record(_ context.Context, key string, period time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[key] = m.now().Add(period)
	return nil
}

func mustParse(t testing.TB, src string, opts ...Option) *Script {
	t.Helper()
	s, err := Parse([]byte(src), opts...)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return s
}

const plainMsg = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hello\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"

func TestVacationSuppression(t *testing.T) {
	s := mustParse(t, `require "vacation"; vacation :days 1 "away";`)
	cases := []struct {
		name, from, msg, want string
	}{
		{"normal", "alice@example.com", plainMsg, ""},
		{"null sender", "", plainMsg, "null envelope sender"},
		{"mailer-daemon", "MAILER-DAEMON@example.com", plainMsg, "system address"},
		{"owner-", "owner-list@example.com", plainMsg, "system address"},
		{"-request", "list-request@example.com", plainMsg, "system address"},
		{"bulk", "alice@example.com", "Precedence: bulk\r\n" + plainMsg, "precedence=bulk"},
		{"junk", "alice@example.com", "Precedence: junk\r\n" + plainMsg, "precedence=junk"},
		{"list-id", "alice@example.com", "List-Id: <x.example.com>\r\n" + plainMsg, "mailing list"},
		{"auto-submitted", "alice@example.com", "Auto-Submitted: auto-replied\r\n" + plainMsg, "auto-submitted"},
		{"auto-submitted no", "alice@example.com", "Auto-Submitted: no\r\n" + plainMsg, ""},
		{"not a recipient", "alice@example.com", strings.Replace(plainMsg, "bob@example.org", "carol@example.org", 1), "no known recipient"},
		{"from self", "bob@example.org", plainMsg, "recipient itself"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := s.Run(context.Background(), ParseMessage([]byte(c.msg)),
				&Env{Envelope: Envelope{From: c.from, To: "bob@example.org"}})
			if res.Err != nil || len(res.Actions) != 1 || res.Actions[0].Kind != ActVacation {
				t.Fatalf("result %+v", res)
			}
			got := res.Actions[0].Vacation.Suppressed
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("Suppressed = %q, want %q", got, c.want)
			}
		})
	}
}

func TestVacationOncePerPeriod(t *testing.T) {
	s := mustParse(t, `require "vacation"; vacation :days 2 :subject "Away" "I am away";`)
	tr := newMemTracker()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tr.now = func() time.Time { return now }
	env := &Env{Envelope: Envelope{From: "alice@example.com", To: "bob@example.org"}, Tracker: tr}
	send := func() bool {
		res := s.Run(context.Background(), ParseMessage([]byte(plainMsg)), env)
		v := res.Actions[0].Vacation
		if v.Suppressed == "" {
			for _, e := range res.Track {
				tr.Record(context.Background(), e.Key, e.Period)
			}
			return true
		}
		return false
	}
	if !send() {
		t.Fatal("first reply suppressed")
	}
	if send() {
		t.Fatal("second reply within the period sent")
	}
	now = now.Add(49 * time.Hour)
	if !send() {
		t.Fatal("reply after the period suppressed")
	}
	// Another sender gets its own reply.
	env.Envelope.From = "carol@example.com"
	if !send() {
		t.Fatal("reply to another sender suppressed")
	}
}

func TestVacationAddresses10000(t *testing.T) {
	var b strings.Builder
	b.WriteString(`require "vacation"; vacation :addresses [`)
	for i := 0; i < 10000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"alias%d@example.org"`, i)
	}
	b.WriteString(`] "away";`)
	s := mustParse(t, b.String())
	msg := strings.Replace(plainMsg, "bob@example.org", "alias9999@example.org", 1)
	start := time.Now()
	res := s.Run(context.Background(), ParseMessage([]byte(msg)), &Env{Envelope: Envelope{From: "alice@example.com", To: "bob@example.org"}})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("run took %v", d)
	}
	if res.Actions[0].Vacation.Suppressed != "" {
		t.Fatalf("reply suppressed: %s", res.Actions[0].Vacation.Suppressed)
	}
}

func TestRuntimeErrorFallsBackToKeep(t *testing.T) {
	s := mustParse(t, `require "fileinto"; fileinto "a"; redirect "a@x.org"; redirect "b@x.org"; redirect "c@x.org"; redirect "d@x.org"; redirect "e@x.org";`)
	res := s.Run(context.Background(), ParseMessage([]byte(plainMsg)), nil)
	if res.Err == nil || !res.ImplicitKeep || len(res.Actions) != 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestMaxActions(t *testing.T) {
	var b strings.Builder
	b.WriteString(`require "fileinto";`)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `fileinto "f%d";`, i)
	}
	res := mustParse(t, b.String()).Run(context.Background(), ParseMessage([]byte(plainMsg)), nil)
	if res.Err == nil || !res.ImplicitKeep {
		t.Fatalf("40 actions accepted: %+v", res)
	}
}

func TestRunScriptsBeforeAfter(t *testing.T) {
	before := mustParse(t, `require "imap4flags"; addflag "\\Flagged";`)
	user := mustParse(t, `require "fileinto"; if header :is "subject" "hello" { fileinto "Hello"; }`)
	after := mustParse(t, `require "fileinto"; fileinto "After";`)
	res := RunScripts(context.Background(), ParseMessage([]byte(plainMsg)), nil, before, user, after)
	if len(res.Actions) != 1 || res.Actions[0].Mailbox != "Hello" || res.ImplicitKeep {
		t.Fatalf("after ran although keep was cancelled: %+v", res.Actions)
	}
	res = RunScripts(context.Background(), ParseMessage([]byte(strings.Replace(plainMsg, "hello", "other", 1))), nil, before, user, after)
	if len(res.Actions) != 1 || res.Actions[0].Mailbox != "After" {
		t.Fatalf("after did not run: %+v", res.Actions)
	}
	// A failing user script keeps what before decided, plus the keep.
	bad := mustParse(t, `require ["ihave", "fileinto"]; fileinto "X"; error "failed";`)
	res = RunScripts(context.Background(), ParseMessage([]byte(plainMsg)), nil, before, bad, after)
	if res.Err == nil || !res.ImplicitKeep || len(res.Actions) != 0 || len(res.KeepFlags) != 1 || res.KeepFlags[0] != `\Flagged` {
		t.Fatalf("failing script: %+v", res)
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("script size", func(t *testing.T) {
		big := "keep; #" + strings.Repeat("x", 2<<20) + "\n"
		if _, err := Parse([]byte(big)); !errors.Is(err, ErrScriptTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("1 MB string", func(t *testing.T) {
		src := `require "fileinto"; if header :contains "subject" "` + strings.Repeat("a", 1<<20-100) + `" { fileinto "x"; }`
		start := time.Now()
		s, err := Parse([]byte(src), WithLimits(Limits{MaxScriptSize: 2 << 20}))
		if err != nil {
			t.Fatal(err)
		}
		res := s.Run(context.Background(), ParseMessage([]byte(plainMsg)), nil)
		if !res.ImplicitKeep || time.Since(start) > 2*time.Second {
			t.Fatalf("res %+v in %v", res, time.Since(start))
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		src := strings.Repeat("if true {", 1000) + strings.Repeat("}", 1000)
		_, err := Parse([]byte(src))
		if es := Errors(err); len(es) == 0 || !strings.Contains(es[0].Msg, "nest") {
			t.Fatalf("err = %v", err)
		}
		src = "if " + strings.Repeat("not ", 100000) + "true { keep; }"
		if _, err := Parse([]byte(src)); err == nil {
			t.Fatal("100000 nested not accepted")
		}
		src = "if " + strings.Repeat("anyof(", 10000) + "true" + strings.Repeat(")", 10000) + " { keep; }"
		if _, err := Parse([]byte(src)); err == nil {
			t.Fatal("10000 nested anyof accepted")
		}
	})
	t.Run("include cycle", func(t *testing.T) {
		inc := IncluderFunc(func(loc IncludeLocation, name string) ([]byte, error) {
			return []byte(`require "include"; include "` + name + `x";`), nil
		})
		_, err := Parse([]byte(`require "include"; include "a";`), WithIncluder(inc))
		if err == nil {
			t.Fatal("endless include chain accepted")
		}
		self := IncluderFunc(func(loc IncludeLocation, name string) ([]byte, error) {
			return []byte(`require "include"; include "a";`), nil
		})
		_, err = Parse([]byte(`require "include"; include "a";`), WithIncluder(self))
		if err == nil || !strings.Contains(err.Error(), "circular") {
			t.Fatalf("cycle: %v", err)
		}
	})
	t.Run("regex bomb", func(t *testing.T) {
		s := mustParse(t, `require "regex"; if header :regex "subject" "(a+)+$" { discard; }`)
		msg := "Subject: " + strings.Repeat("a", 100000) + "!\r\n\r\n"
		start := time.Now()
		s.Run(context.Background(), ParseMessage([]byte(msg)), nil)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("regex took %v", d)
		}
		if _, err := Parse([]byte(`require "regex"; if header :regex "subject" "` + strings.Repeat("(a)", 5000) + `" { discard; }`)); err == nil {
			t.Fatal("oversized regex accepted")
		}
	})
	t.Run("variables bounded", func(t *testing.T) {
		src := `require "variables"; set "a" "xxxxxxxxxxxxxxxx";` + strings.Repeat(`set "a" "${a}${a}";`, 40) + `if string :is "${a}" "" { discard; }`
		res := mustParse(t, src).Run(context.Background(), ParseMessage([]byte(plainMsg)), nil)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	})
	t.Run("matches bomb", func(t *testing.T) {
		s := mustParse(t, `require "variables"; if header :matches "subject" "`+strings.Repeat("*a", 200)+`b" { discard; }`)
		msg := "Subject: " + strings.Repeat("a", 20000) + "\r\n\r\n"
		start := time.Now()
		s.Run(context.Background(), ParseMessage([]byte(msg)), nil)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf(":matches took %v", d)
		}
	})
}

func TestErrorPosition(t *testing.T) {
	_, err := Parse([]byte("require \"fileinto\";\n\n   bogus;\n"))
	es := Errors(err)
	if len(es) != 1 || es[0].Pos != (Pos{Line: 3, Column: 4}) {
		t.Fatalf("errors %v", es)
	}
	if !strings.HasPrefix(err.Error(), "line 3: error: unknown command 'bogus'") {
		t.Fatalf("text %q", err.Error())
	}
}

func TestCapabilities(t *testing.T) {
	c := Capabilities()
	for _, e := range []string{"fileinto", "vacation", "imap4flags", "comparator-i;ascii-numeric"} {
		if !strings.Contains(" "+c+" ", " "+e+" ") {
			t.Errorf("capability %q missing from %q", e, c)
		}
	}
	if Capabilities("fileinto", "x-unknown", "editheader") != "fileinto editheader" {
		t.Errorf("got %q", Capabilities("fileinto", "x-unknown", "editheader"))
	}
}

// TestSpamTestValues: the values Pigeonhole 2.3.19's sieve-test gives
// with sieve_spamtest_status_type = score, max 10, and a text virustest
// (checked by hand against sieve-test; TestPigeonholeSpamtest repeats it).
func TestSpamTestValues(t *testing.T) {
	c := &TestScoreConfig{Type: "score", Header: "X-Spam-Score", MaxValue: 10}
	for score, want := range map[string][2]string{
		"": {"0", "0"}, "0": {"1", "0"}, "5": {"5", "50"}, "12": {"10", "100"}, "-1": {"1", "0"},
		"2.5": {"3", "25"}, "9.99": {"9", "99"}, "abc": {"0", "0"}, "0.5": {"1", "5"}, "1": {"1", "10"},
	} {
		msg := "Subject: x\r\n\r\nb\r\n"
		if score != "" {
			msg = "X-Spam-Score: " + score + "\r\n" + msg
		}
		v, p := c.Values(ParseMessage([]byte(msg)))
		if v != want[0] || p != want[1] {
			t.Errorf("score %q: got %s/%s, want %s/%s", score, v, p, want[0], want[1])
		}
	}
	vc := &TestScoreConfig{Type: "text", Header: "X-Virus-Scan: ([a-zA-Z]+)", TextValues: map[string]int{"clean": 1, "infected": 5}}
	if v, _ := vc.Values(ParseMessage([]byte("X-Virus-Scan: infected (by x)\r\n\r\n"))); v != "5" {
		t.Errorf("virustest infected = %s", v)
	}
	if v, _ := vc.Values(ParseMessage([]byte("Subject: x\r\n\r\n"))); v != "0" {
		t.Errorf("virustest untested = %s", v)
	}
}
