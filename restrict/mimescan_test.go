package restrict

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// mimePolicy makes a Policy with the given check files (name → regexp
// table text) and extra parameters.
func mimePolicy(t testing.TB, files map[string]string, extra map[string]string) *Policy {
	t.Helper()
	dir := t.TempDir()
	params := DefaultParams()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		params[name] = "regexp:" + path
	}
	for n, v := range extra {
		params[n] = v
	}
	p, err := New(params, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// scanAll feeds msg to a new ContentScan in pieces of n bytes (all at
// once when n <= 0) and returns what it passed on, the last decision that
// ended the message (or the merged Hold etc.), and the warnings.
func scanAll(t testing.TB, p *Policy, msg string, n int) (string, Decision, []string) {
	t.Helper()
	ctx := context.Background()
	s := p.NewContentScan()
	var out strings.Builder
	var final Decision
	var warnings []string
	take := func(o []byte, d Decision, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		out.Write(o)
		warnings = append(warnings, d.Warnings...)
		if d.Action != Dunno {
			final = d
		}
		return d.Action == Reject || d.Action == Defer || d.Action == Discard
	}
	data := []byte(msg)
	for len(data) > 0 {
		k := len(data)
		if n > 0 && n < k {
			k = n
		}
		if take(s.Feed(ctx, data[:k])) {
			return out.String(), final, warnings
		}
		data = data[k:]
	}
	take(s.End(ctx))
	return out.String(), final, warnings
}

// bomb is n multiparts nested in one another around payload.
func bomb(n int, payload string) string {
	var b strings.Builder
	b.WriteString("Subject: bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\n%s\r\n", n-1, payload)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// TestContentScanEdits: header_checks actions on a body part's MIME
// header (PREPEND, REPLACE, IGNORE) and body_checks (PREPEND, REPLACE,
// IGNORE, STRIP) edit the text passed on where cleanup edits it; other text passes unchanged, and the
// empty line cleanup inserts after a primary header that ends without one
// is passed on too.
func TestContentScanEdits(t *testing.T) {
	p := mimePolicy(t, map[string]string{
		"header_checks": "/^Content-Description: old/ REPLACE Content-Description: new\n" +
			"/^Content-ID: drop/ IGNORE\n" +
			"/^X-Top: 1/ PREPEND X-Added: yes\n" +
			"/^Content-Disposition: warn/ WARN looked\n",
		"body_checks": "/^mark$/ PREPEND before mark\n/^old line$/ REPLACE new line\n/^drop$/ IGNORE\n/^strip$/ STRIP gone\n",
	}, nil)
	in := "X-Top: 1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Description: old\r\n value\r\nContent-ID: drop me\r\nContent-Disposition: warn\r\n\r\nmark\r\nold line\r\ndrop\r\nstrip\r\n--B--\r\n"
	want := "X-Added: yes\r\nX-Top: 1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Description: new\r\nContent-Disposition: warn\r\n\r\nbefore mark\r\nmark\r\nnew line\r\n--B--\r\n"
	for _, n := range []int{0, 1, 7} {
		out, d, w := scanAll(t, p, in, n)
		if out != want {
			t.Errorf("pieces of %d: got\n%q\nwant\n%q", n, out, want)
		}
		if d.Action != Dunno || len(w) != 2 || !strings.Contains(w[0], "warning: header Content-Disposition: warn: looked") || !strings.Contains(w[1], "strip: body strip: gone") {
			t.Errorf("pieces of %d: decision %+v warnings %q", n, d, w)
		}
	}
	out, _, _ := scanAll(t, p, "Subject: x\r\nnot a header\r\n", 0)
	if out != "Subject: x\r\n\r\nnot a header\r\n" {
		t.Errorf("no empty line after the header: got %q", out)
	}
}

// TestContentScanBomb: a 20,000-deep multipart bomb is decided in well
// under a second with memory bounded by the nesting limit, whatever the
// pieces it comes in: the payload of the innermost part is found (as
// Postfix finds it), and without one the nesting is refused.
func TestContentScanBomb(t *testing.T) {
	p := mimePolicy(t, map[string]string{
		"header_checks": "/^Subject: forbidden/ REJECT bad subject\n",
		"body_checks":   "/^the payload$/ REJECT payload found\n",
	}, nil)
	for _, tc := range []struct {
		msg, want string
	}{
		{bomb(20000, "the payload"), "550 5.7.1 payload found"},
		{bomb(20000, "no payload"), "550 5.6.0 MIME nesting exceeds safety limit"},
		{bomb(5, "the payload"), "550 5.7.1 payload found"},
		{bomb(5, "no payload"), ""},
	} {
		for _, n := range []int{0, 4096, 13} {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			out, d, _ := scanAll(t, p, tc.msg, n)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%d bytes in pieces of %d: %v, %d bytes allocated", len(tc.msg), n, took, after.TotalAlloc-before.TotalAlloc)
			got := ""
			if d.Action != Dunno {
				got = d.String()
			}
			if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("%d bytes in pieces of %d: got %q, want %q", len(tc.msg), n, got, tc.want)
			}
			if tc.want == "" && out != tc.msg {
				t.Errorf("accepted message changed")
			}
			// One Feed per 13 bytes is 100,000 calls: twice the time.
			if limit := time.Duration(raceSlowdown) * time.Second * time.Duration(1+min(n, 13)/13); took > limit {
				t.Errorf("%d bytes in pieces of %d took %v", len(tc.msg), n, took)
			}
			// The output of one Feed is at most what it was given plus a
			// held header; allocations beyond that stay small.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
				t.Errorf("%d bytes in pieces of %d allocated %d bytes", len(tc.msg), n, grown)
			}
		}
	}
}

// TestContentScanStack: the boundary stack never holds more than
// mime_nesting_limit+2 boundaries (Postfix's nesting level starts at
// -1), each at most mime_boundary_length_limit bytes, and a pending
// header at most header_size_limit plus one line.
func TestContentScanStack(t *testing.T) {
	p := mimePolicy(t, map[string]string{"header_checks": "/^X-None:/ REJECT\n"},
		map[string]string{"mime_nesting_limit": "10", "mime_boundary_length_limit": "8", "header_size_limit": "500"})
	s := p.NewContentScan()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("Subject: x\r\n")
	for range 200 {
		b.WriteString(" " + strings.Repeat("y", 40) + "\r\n")
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=" + strings.Repeat("z", 100) + "\r\n\r\n")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: multipart/mixed; boundary=\"a0\"\r\n\r\n", strings.Repeat("z", 100))
	for i := 1; i < 50; i++ {
		fmt.Fprintf(&b, "--a%d\r\nContent-Type: multipart/mixed; boundary=\"a%d\"\r\n\r\n", i-1, i)
	}
	for _, line := range strings.SplitAfter(b.String(), "\r\n") {
		s.Feed(ctx, []byte(line))
		if len(s.stack) > 12 {
			t.Fatalf("stack of %d", len(s.stack))
		}
		for _, e := range s.stack {
			if len(e.boundary) > 8 {
				t.Fatalf("boundary %q", e.boundary)
			}
		}
		if len(s.hdr) > 500+50 || len(s.held) > 600 {
			t.Fatalf("pending header of %d bytes (%d raw)", len(s.hdr), len(s.held))
		}
	}
	if len(s.stack) != 12 || string(s.stack[0].boundary) != "zzzzzzzz" {
		t.Errorf("stack of %d, first %q", len(s.stack), s.stack[0].boundary)
	}
	_, d, _ := s.End(ctx)
	if d.String() != "550 5.6.0 MIME nesting exceeds safety limit" {
		t.Errorf("got %q", d.String())
	}
}
