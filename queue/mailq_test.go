package queue

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

func TestWriteMailqEmpty(t *testing.T) {
	var b strings.Builder
	if err := WriteMailq(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "Mail queue is empty\n" {
		t.Fatalf("got %q", b.String())
	}
}

func TestWriteMailq(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 30, 1, 0, time.Local)
	long := "host mx.example.jp[192.0.2.1] said: 450 4.2.0 <b@example.jp>: mailbox busy (in reply to RCPT TO command)"
	entries := []Entry{
		{ID: "70B7C984F5D", Queue: "active", Size: 327, Arrival: at, From: "", Recipients: []EntryRecipient{{Addr: "a@slow.test"}}},
		{ID: "694BA984F5E", Queue: "deferred", Size: 3310, Arrival: at, From: "s@example.jp", Recipients: []EntryRecipient{
			{Addr: "a@example.jp", Reason: "connect to 127.0.0.1[127.0.0.1]:1: Connection refused"},
			{Addr: "c@example.jp", Reason: "connect to 127.0.0.1[127.0.0.1]:1: Connection refused"},
			{Addr: "b@example.jp", Reason: long},
			{Addr: "d@example.jp"},
		}},
		{ID: "ABC", Queue: "hold", Size: 1000, Arrival: at, From: "bad\x01sender@example.jp", Recipients: []EntryRecipient{{Addr: "x@example.jp"}}},
	}
	var b strings.Builder
	if err := WriteMailq(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := `-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
70B7C984F5D*     327 Mon Dec  7 05:30:01  MAILER-DAEMON
                                         a@slow.test

694BA984F5E    3310 Mon Dec  7 05:30:01  s@example.jp
                       (connect to 127.0.0.1[127.0.0.1]:1: Connection refused)
                                         a@example.jp
                                         c@example.jp
(` + long + `)
                                         b@example.jp
` + strings.Repeat(" ", 76-len("reason unavailable")) + `(reason unavailable)
                                         d@example.jp

ABC!           1000 Mon Dec  7 05:30:01  "bad?sender"@example.jp
                                         x@example.jp

-- 4 Kbytes in 3 Requests.
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteMailqLongIDs(t *testing.T) {
	at := time.Date(2026, 1, 17, 15, 4, 5, 0, time.Local)
	var b strings.Builder
	WriteMailq(&b, []Entry{{ID: "4dQ1bL2zN8z1Bm", Queue: "deferred", Size: 512, Arrival: at, From: "a@b", Recipients: []EntryRecipient{{Addr: "c@d"}}}})
	want := `----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
4dQ1bL2zN8z1Bm         512 Sat Jan 17 15:04:05 a@b
` + strings.Repeat(" ", 17+1+8+1+19+1) + `c@d

-- 0 Kbytes in 1 Request.
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestPostfixMailq makes the real Postfix hold a queue with an active
// message (its delivery stalls at a slow smtp-sink), deferred ones (a
// closed port, a sink that answers 450) and a held one (postsuper -h),
// reads "postqueue -p", rebuilds the same entries from it and checks
// that WriteMailq writes the same text, byte for byte, except the
// trailer's Kbytes (Postfix sums queue file sizes there, not message
// sizes).
func TestPostfixMailq(t *testing.T) {
	testutil.RequireBinary(t, "postqueue")
	postsuper := testutil.RequireBinary(t, "postsuper")
	deferSink := startSmtpSink(t, "", "-r", "RCPT", "-b", "450 4.2.0 <busy@defer.test>: mailbox busy")
	slowSink := startSmtpSink(t, "", "-w", "60")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(
		"transport_maps = inline:{defer.test=smtp:%s, slow.test=smtp:%s, closed.test=smtp:[127.0.0.1]:1}\n",
		bracketAddr(deferSink), bracketAddr(slowSink)))
	msg := "From: s@sink.test\r\nSubject: queue listing\r\n\r\nhello\r\n"
	smtpSend(t, pf.Addr(), "<>", []string{"<a@slow.test>"}, msg)
	smtpSend(t, pf.Addr(), "<s1@sink.test>", []string{"<busy@defer.test>"}, msg)
	smtpSend(t, pf.Addr(), "<s2@sink.test>", []string{"<a@closed.test>", "<b@closed.test>", "<c@defer.test>"}, msg+strings.Repeat("x", 2000)+"\r\n")
	smtpSend(t, pf.Addr(), "<held@sink.test>", []string{"<h@closed.test>"}, msg)
	smtpSend(t, pf.Addr(), "<\"sp ace\"@sink.test>", []string{"<\"x y\"@closed.test>"}, msg)

	var out string
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := exec.Command("postqueue", "-c", pf.Dir, "-p").CombinedOutput()
		if err != nil {
			t.Fatalf("postqueue -p: %v\n%s", err, b)
		}
		out = string(b)
		// Wait until both kinds of deferral were logged and the slow
		// delivery runs.
		if strings.Contains(out, "(connect to 127.0.0.1[127.0.0.1]:1: Connection refused)") &&
			strings.Contains(out, "mailbox busy (in reply to RCPT TO command))") && strings.Contains(out, "*") {
			if id := regexp.MustCompile(`(?m)^([0-9A-F]+)\s.*held@sink\.test$`).FindStringSubmatch(out); id != nil && !strings.Contains(out, "!") {
				if b, err := exec.Command(postsuper, "-c", pf.Dir, "-h", id[1]).CombinedOutput(); err != nil {
					t.Fatalf("postsuper -h: %v\n%s", err, b)
				}
				continue
			}
			if strings.Contains(out, "!") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not reach the wanted state:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries := parseMailq(t, out)
	var b strings.Builder
	if err := WriteMailq(&b, entries); err != nil {
		t.Fatal(err)
	}
	trailer := regexp.MustCompile(`(?m)^-- \d+ Kbytes in (\d+ Requests?)\.$`)
	got := trailer.ReplaceAllString(b.String(), "-- N Kbytes in $1.")
	want := trailer.ReplaceAllString(out, "-- N Kbytes in $1.")
	if got != want {
		t.Fatalf("WriteMailq:\n%s\npostqueue -p:\n%s", got, want)
	}

	// postqueue -j of the same queue (its state may have moved on, so
	// it is read back and written again rather than compared with -p).
	jout, err := exec.Command("postqueue", "-c", pf.Dir, "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	var jentries []Entry
	for _, line := range strings.Split(strings.TrimSuffix(string(jout), "\n"), "\n") {
		var m struct {
			QueueName   string `json:"queue_name"`
			QueueID     string `json:"queue_id"`
			ArrivalTime int64  `json:"arrival_time"`
			MessageSize int64  `json:"message_size"`
			Sender      string `json:"sender"`
			Recipients  []struct {
				Address     string `json:"address"`
				DelayReason string `json:"delay_reason"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("postqueue -j line %q: %v", line, err)
		}
		if m.Sender == "MAILER-DAEMON" {
			m.Sender = ""
		}
		e := Entry{ID: m.QueueID, Queue: m.QueueName, Size: m.MessageSize, Arrival: time.Unix(m.ArrivalTime, 0), From: m.Sender}
		for _, r := range m.Recipients {
			e.Recipients = append(e.Recipients, EntryRecipient{Addr: r.Address, Reason: r.DelayReason})
		}
		jentries = append(jentries, e)
	}
	var jb strings.Builder
	if err := WriteMailqJSON(&jb, jentries); err != nil {
		t.Fatal(err)
	}
	if jb.String() != string(jout) {
		t.Errorf("WriteMailqJSON:\n%s\npostqueue -j:\n%s", jb.String(), jout)
	}
	for _, s := range []string{`"queue_name": "hold"`, `"queue_name": "active"`, `"sender": "MAILER-DAEMON"`, `"delay_reason": "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <busy@defer.test>`} {
		if !strings.Contains(jb.String(), s) {
			t.Errorf("JSON listing lacks %s:\n%s", s, jb.String())
		}
	}
	for _, s := range []string{"*", "!", "MAILER-DAEMON", "(connect to 127.0.0.1[127.0.0.1]:1: Connection refused)", "-- N Kbytes in 5 Requests.", `"sp ace"@sink.test`} {
		if !strings.Contains(got, s) {
			t.Errorf("listing lacks %q:\n%s", s, got)
		}
	}
}

// parseMailq reads postqueue -p output back into entries.
func parseMailq(t *testing.T, out string) []Entry {
	t.Helper()
	sender := regexp.MustCompile(`^([0-9A-Za-z]+)([*!]?)\s+(\d+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d)  (.*)$`)
	var entries []Entry
	var reason string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-Queue ID-"), strings.HasPrefix(line, "-- "), line == "":
		case sender.MatchString(line):
			m := sender.FindStringSubmatch(line)
			q := map[string]string{"*": "active", "!": "hold", "": "deferred"}[m[2]]
			size, _ := strconv.ParseInt(m[3], 10, 64)
			at, err := time.ParseInLocation("2006 Mon Jan _2 15:04:05", strconv.Itoa(time.Now().Year())+" "+m[4], time.Local)
			if err != nil {
				t.Fatal(err)
			}
			from := m[5]
			if from == "MAILER-DAEMON" {
				from = ""
			}
			entries = append(entries, Entry{ID: m[1], Queue: q, Size: size, Arrival: at, From: from})
			reason = ""
		case strings.HasPrefix(strings.TrimLeft(line, " "), "("):
			reason = strings.TrimSuffix(strings.TrimPrefix(strings.TrimLeft(line, " "), "("), ")")
		case strings.HasPrefix(line, strings.Repeat(" ", 41)) && len(entries) > 0:
			e := &entries[len(entries)-1]
			e.Recipients = append(e.Recipients, EntryRecipient{Addr: strings.TrimSpace(line), Reason: reason})
		default:
			t.Fatalf("unexpected postqueue -p line %q", line)
		}
	}
	return entries
}

func bracketAddr(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return "[" + addr[:i] + "]" + addr[i:]
}

func TestWriteMailqJSONControlChars(t *testing.T) {
	var b strings.Builder
	WriteMailqJSON(&b, []Entry{{ID: "A", Queue: "deferred", Arrival: time.Unix(100, 0), From: "a\x1b@b",
		Recipients: []EntryRecipient{{Addr: "<c>@d", Reason: "x\r\ny \"q\""}}}})
	want := `{"queue_name": "deferred", "queue_id": "A", "arrival_time": 100, "message_size": 0, "forced_expire": false, "sender": "\"a?\"@b", "recipients": [{"address": "\"<c>\"@d", "delay_reason": "x??y \"q\""}]}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

func TestQuoteLocal(t *testing.T) {
	for in, want := range map[string]string{
		"a@b":              "a@b",
		"a b@example.jp":   `"a b"@example.jp`,
		`"a b"@example.jp`: `"a b"@example.jp`,
		`a"b\c@x`:          `"a\"b\\c"@x`,
		".a@x":             `".a"@x`,
		"a..b@x":           `"a..b"@x`,
		"ユーザー@例.jp":        "ユーザー@例.jp",
		"postmaster":       "postmaster",
		"a@b@c":            `"a@b"@c`,
		"":                 "",
	} {
		if got := quoteLocal(in); got != want {
			t.Errorf("quoteLocal(%q) = %q, want %q", in, got, want)
		}
	}
}
