package sieve

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// corpusSeeds adds the differential corpus's scripts as seeds.
func corpusSeeds(f *testing.F, add func(script string)) {
	for _, file := range []string{"testdata/pigeonhole/handwritten_actions.txt", "testdata/pigeonhole/errors.txt"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range strings.Split(string(b), "\n### ") {
			if i := strings.IndexByte(c, '\n'); i >= 0 {
				add(c[i+1:])
			}
		}
	}
}

var fuzzIncluder = IncluderFunc(func(loc IncludeLocation, name string) ([]byte, error) {
	switch name {
	case "a":
		return []byte(`require "include"; include :once "b"; keep;`), nil
	case "b":
		return []byte(`require ["include", "variables"]; global "g"; set "g" "x"; return;`), nil
	}
	return nil, ErrNotFound
})

// FuzzParse: any input parses or fails with positioned errors, never
// panics, within bounded time.
func FuzzParse(f *testing.F) {
	corpusSeeds(f, func(s string) { f.Add([]byte(s)) })
	f.Add([]byte("require \"encoded-character\"; keep :flags \"${hex:41 42}${unicode:1F600}\";"))
	f.Add([]byte("reject text:\r\n..\r\n.\r\n;"))
	f.Fuzz(func(t *testing.T, src []byte) {
		exts := append(append([]string(nil), DefaultExtensions...), "editheader", "vacation-seconds", "spamtest", "virustest", "ereject")
		s, err := Parse(src, WithExtensions(exts...), WithIncluder(fuzzIncluder))
		if err != nil {
			for _, e := range Errors(err) {
				if e.Pos.Line < 0 || e.Msg == "" {
					t.Fatalf("bad error %+v", e)
				}
			}
			if s != nil {
				t.Fatal("script and error")
			}
			return
		}
		_ = s.Requires()
	})
}

// FuzzRun: any script that parses runs on any message without panic,
// within the limits, and a failed run keeps the message.
func FuzzRun(f *testing.F) {
	msgs := []string{plainMsg,
		"From: =?UTF-8?B?5bGx55Sw?= <a@b.jp>\r\nTo: undisclosed-recipients:;\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
		"Date: Mon, 7 Dec 2026 08:00:00 +0900\r\nX-A: 1\r\nX-A: 2\r\n\r\n"}
	i := 0
	corpusSeeds(f, func(s string) {
		f.Add([]byte(s), []byte(msgs[i%len(msgs)]))
		i++
	})
	f.Fuzz(func(t *testing.T, src, msg []byte) {
		exts := append(append([]string(nil), DefaultExtensions...), "editheader", "vacation-seconds", "spamtest", "virustest", "ereject")
		s, err := Parse(src, WithExtensions(exts...), WithIncluder(fuzzIncluder),
			WithLimits(Limits{MaxCPUTime: 2 * time.Second}))
		if err != nil {
			return
		}
		env := &Env{Envelope: Envelope{From: "a@example.com", To: "b+c@example.org"}, Tracker: newMemTracker(),
			Now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Location: time.UTC}
		res := s.Run(context.Background(), ParseMessage(msg), env)
		if res.Err != nil && !res.ImplicitKeep {
			t.Fatalf("failed run without implicit keep: %v", res.Err)
		}
		if len(res.Actions) > DefaultLimits.MaxActions {
			t.Fatalf("%d actions", len(res.Actions))
		}
	})
}
