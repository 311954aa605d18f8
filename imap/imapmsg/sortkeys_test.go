package imapmsg

import (
	"fmt"
	"strings"
	"testing"
)

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		reply    bool
	}{
		{"Project plan", "PROJECT PLAN", false},
		{"Re: Project plan", "PROJECT PLAN", true},
		{"RE: [list] Re: project PLAN", "PROJECT PLAN", true},
		{"Fwd: Lunch", "LUNCH", true},
		{"Lunch (fwd)", "LUNCH", true},
		{"Lunch (fwd) (FWD)  ", "LUNCH", true},
		{"[FWD: Lunch]", "LUNCH", true},
		{"[fwd: Re: [x] Lunch (fwd)]", "LUNCH", true},
		{"Re: Re: Fw: hello", "HELLO", true},
		{"[tag] hello", "HELLO", false},
		{"[tag]", "[TAG]", false},
		{"[a][b] re [c]: x", "X", true},
		{"  Re:    spaced\t out  ", "SPACED OUT", true},
		{"re:", "", true},
		{"Re: [unclosed", "[UNCLOSED", true},
		{"Rex: no", "REX: NO", false},
		{"=?UTF-8?B?5pel5pys6Kqe?=", "日本語", false},
		{"=?ISO-8859-1?Q?caf=E9?=", "CAFE\u0301", false},
		{"", "", false},
	} {
		got, reply := BaseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

func TestSortKeysOf(t *testing.T) {
	refs := make([]string, 10000)
	for i := range refs {
		refs[i] = fmt.Sprintf("<r%d@x>", i)
	}
	h := parseHeader([]byte("From: \"Zed, Z\" <Zed@Example.org>\r\nTo: undisclosed-recipients:;\r\nCc: (nobody)\r\n"+
		"Date: broken\r\nMessage-ID: junk <id@x> <id2@x>\r\nReferences: "+strings.Join(refs, " ")+"\r\nIn-Reply-To: <irt@x>\r\n"), 100)
	k := SortKeysOf(h)
	// A group sorts by its name, as in Dovecot (TestDovecotSortThread).
	if k.From != "ZED" || k.DisplayFrom != "ZED, Z" || k.To != "UNDISCLOSED-RECIPIENTS" || k.DisplayTo != "UNDISCLOSED-RECIPIENTS" || k.Cc != "" {
		t.Errorf("addresses: %+v", k)
	}
	if k.HasDate {
		t.Errorf("broken date taken: %v", k.Date)
	}
	if k.MessageID != "id@x" {
		t.Errorf("MessageID %q", k.MessageID)
	}
	if len(k.References) != MaxReferences || k.References[0] != "r0@x" || k.References[MaxReferences-1] != "r9999@x" {
		t.Errorf("References: %d, first %q last %q", len(k.References), k.References[0], k.References[len(k.References)-1])
	}
	k = SortKeysOf(parseHeader([]byte("In-Reply-To: <a@x> <b@x>\r\nDate: Thu, 1 Jan 1970 00:00:00 +0000\r\n"), 100))
	if len(k.References) != 1 || k.References[0] != "a@x" || k.HasDate {
		t.Errorf("In-Reply-To fallback / epoch date: %+v", k)
	}
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct{ msg, subject string }{
		{"Subject: a\r\n\r\nSubject: body\r\n", "a"},
		{"Subject: lf\n\nbody", "lf"},
		{"Subject: no body", "no body"},
		{"Subject: " + strings.Repeat("x", 10000) + "\r\n\r\n", strings.Repeat("x", 10000)},
		{"\r\nSubject: body only\r\n", ""},
	} {
		h, err := ReadHeader(strings.NewReader(tc.msg), int64(len(tc.msg)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := h.Get("Subject")
		if got != tc.subject {
			t.Errorf("%q: subject %q, want %q", tc.msg[:min(len(tc.msg), 30)], got, tc.subject)
		}
	}
	// A header longer than the limit is cut, not read whole.
	big := "Subject: x\r\nX-Pad: " + strings.Repeat("y", 5000) + "\r\n\r\n"
	h, _ := ReadHeader(strings.NewReader(big), int64(len(big)), Limits{MaxHeaderBytes: 100})
	if v, _ := h.Get("Subject"); v != "x" {
		t.Errorf("cut header: %v", h)
	}
}

func FuzzSortKeys(f *testing.F) {
	f.Add("Subject: [FWD: Re: [x] y (fwd)]\r\nFrom: a@b\r\nReferences: <a@b> <c@d>\r\n\r\n")
	f.Add("Subject: =?UTF-8?B?5pel5pys6Kqe?= re:\r\nTo: g: a@b, c;\r\nDate: Mon, 1 Jan 2024 10:00 +0000\r\n\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		h, err := ReadHeader(strings.NewReader(msg), int64(len(msg)), Limits{MaxHeaderBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		k := SortKeysOf(h)
		if len(k.References) > MaxReferences {
			t.Fatalf("%d references", len(k.References))
		}
		b, _ := BaseSubject(k.Subject)
		if b2, _ := BaseSubject(b); len(b2) > len(b) {
			t.Fatalf("base subject grew: %q -> %q", b, b2)
		}
	})
}
