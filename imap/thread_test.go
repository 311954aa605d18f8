package imap

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
)

// threadString renders roots as THREAD's data, for tests.
func threadString(roots []*threadNode) string {
	s := string(appendThreadResponse(nil, roots, itemSeq))
	s = strings.TrimPrefix(strings.TrimSuffix(s, "\r\n"), "* THREAD")
	return strings.TrimPrefix(s, " ")
}

func itemsOf(headers ...string) []sortItem {
	items := make([]sortItem, len(headers))
	for i, h := range headers {
		hd, _ := imapmsg.ReadHeader(strings.NewReader(h+"\r\n\r\n"), int64(len(h)+4), imapmsg.Limits{})
		items[i] = sortItem{uid: uint32(i + 1), seq: uint32(i + 1), arrival: int64(1000 + i)}
		items[i].setKeys(imapmsg.SortKeysOf(hd))
	}
	return items
}

func TestThreadReferencesShapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		want    string
	}{
		{"chain", []string{"Message-ID: <a>", "Message-ID: <b>\r\nReferences: <a>", "Message-ID: <c>\r\nReferences: <a> <b>"}, "(1 2 3)"},
		{"siblings", []string{"Message-ID: <a>", "Message-ID: <b>\r\nReferences: <a>", "Message-ID: <c>\r\nIn-Reply-To: <a>"}, "(1 (2)(3))"},
		{"missing parent", []string{"Message-ID: <b>\r\nReferences: <gone>", "Message-ID: <c>\r\nReferences: <gone>"}, "((1)(2))"},
		{"loop", []string{"Message-ID: <a>\r\nReferences: <b>", "Message-ID: <b>\r\nReferences: <a>"}, "(2 1)"},
		{"self reference", []string{"Message-ID: <a>\r\nReferences: <a>"}, "(1)"},
		{"duplicate id", []string{"Message-ID: <a>", "Message-ID: <a>", "References: <a>"}, "(1 (2)(3))"},
		{"subject merge", []string{"Subject: x\r\nMessage-ID: <a>", "Subject: Re: x\r\nMessage-ID: <b>"}, "(1 2)"},
		{"same subject, no replies", []string{"Subject: x", "Subject: x"}, "((1)(2))"},
	} {
		// "duplicate id": the second <a> is a message of its own, the
		// reply goes to the first.
		if tc.name == "duplicate id" {
			tc.want = "(1 3)(2)"
		}
		if got := threadString(threadReferences(itemsOf(tc.headers...))); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// A message with 10,000 References, another with a broken Date and long
// reply chains thread in bounded time and memory.
func TestThreadHostileInput(t *testing.T) {
	refs := make([]string, 10000)
	for i := range refs {
		refs[i] = fmt.Sprintf("<r%d@x>", i)
	}
	headers := []string{
		"Message-ID: <m@x>\r\nReferences: " + strings.Join(refs, " "),
		"Message-ID: <n@x>\r\nDate: not a date\r\nReferences: <m@x>",
		"Message-ID: <o@x>\r\nDate: Mon, 99 Foo 2024 99:99:99 +9999\r\nIn-Reply-To: <n@x>",
	}
	const chain = 20000
	for i := 0; i < chain; i++ {
		h := fmt.Sprintf("Message-ID: <c%d@x>", i)
		if i > 0 {
			h += fmt.Sprintf("\r\nReferences: <c0@x> <c%d@x>", i-1)
		}
		headers = append(headers, h)
	}
	start := time.Now()
	roots := threadReferences(itemsOf(headers...))
	out := threadString(roots)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("threading took %v", took)
	}
	if !strings.HasPrefix(out, "(1 2 3)(4 5 6 ") || strings.Count(out, "(") != 2 {
		t.Errorf("threads: %.60s... (%d parens)", out, strings.Count(out, "("))
	}
	ordered := threadString(threadOrderedSubject(itemsOf(headers[:3]...)))
	if ordered != "(1 (2)(3))" {
		t.Errorf("ORDEREDSUBJECT: %s", ordered)
	}
}

// FuzzThread threads arbitrary headers: no panic, no endless loop, and
// every message appears exactly once in the answer.
func FuzzThread(f *testing.F) {
	f.Add("Message-ID: <a>\nReferences: <b> <a>\x00Message-ID: <b>\nReferences: <a>\x00Subject: re: x\x00Subject: x")
	f.Add("References: <x> <y> <x>\x00Message-ID: <y>\nIn-Reply-To: <x>\x00Message-ID: <x>\nReferences: <y>")
	f.Fuzz(func(t *testing.T, in string) {
		hs := strings.Split(in, "\x00")
		if len(hs) > 50 {
			hs = hs[:50]
		}
		items := itemsOf(hs...)
		for _, roots := range [][]*threadNode{threadReferences(items), threadRefs(items), threadOrderedSubject(items)} {
			out := threadString(roots)
			seen := map[string]bool{}
			for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r == '(' || r == ')' || r == ' ' }) {
				if seen[f] {
					t.Fatalf("%s twice in %s", f, out)
				}
				seen[f] = true
			}
			if len(seen) != len(items) {
				t.Fatalf("%d of %d messages in %s", len(seen), len(items), out)
			}
		}
	})
}
