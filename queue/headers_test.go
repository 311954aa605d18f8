package queue

import (
	"reflect"
	"strings"
	"testing"
)

func TestScanHeaders(t *testing.T) {
	msg := "Received: from a by b; Mon, 7 Dec 2026 05:30:01 +0900\r\n" +
		"\tcontinued\r\n" +
		"Delivered-To: User@Example.JP\r\n" +
		"received : from c\r\n" +
		"Delivered-To:\r\n <alias@example.jp>\r\n" +
		"Delivered-To: <angle@example.jp>\r\n" +
		"Subject: Received: not a field\r\n" +
		"\r\n" +
		"Received: in the body\r\n" +
		"Delivered-To: body@example.jp\r\n"
	h, err := ScanHeaders(strings.NewReader(msg), 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Received != 2 {
		t.Errorf("Received = %d, want 2", h.Received)
	}
	// As Postfix's local(8): a folded value is not read, angle brackets
	// are kept.
	if want := []string{"user@example.jp", "<angle@example.jp>"}; !reflect.DeepEqual(h.DeliveredTo, want) {
		t.Errorf("DeliveredTo = %q, want %q", h.DeliveredTo, want)
	}
	if !h.Delivered("USER@example.jp") || h.Delivered("body@example.jp") {
		t.Errorf("Delivered: %q", h.DeliveredTo)
	}
	if h.Truncated || h.Size != strings.Index(msg, "\r\n\r\n")+2 {
		t.Errorf("Size %d Truncated %v", h.Size, h.Truncated)
	}
}

func TestScanHeadersEndsAtNonHeader(t *testing.T) {
	h, _ := ScanHeaders(strings.NewReader("Received: a\nthis is body text\nReceived: b\n"), 0)
	if h.Received != 1 {
		t.Errorf("Received = %d, want 1", h.Received)
	}
}

func TestScanHeadersLimit(t *testing.T) {
	msg := strings.Repeat("Received: from somewhere\r\n", 10000) + "\r\nbody"
	h, err := ScanHeaders(strings.NewReader(msg), DefaultHeaderSizeLimit)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Truncated || h.Size != DefaultHeaderSizeLimit {
		t.Errorf("Truncated %v Size %d", h.Truncated, h.Size)
	}
	if want := DefaultHeaderSizeLimit / len("Received: from somewhere\r\n"); h.Received < want || h.Received > want+1 {
		t.Errorf("Received = %d, want about %d", h.Received, want)
	}
	// One header line far longer than the buffer and the limit.
	long := "X-Long: " + strings.Repeat("x", 300000) + "\r\nReceived: late\r\n\r\n"
	h, err = ScanHeaders(strings.NewReader(long), 0)
	if err != nil || !h.Truncated || h.Received != 0 {
		t.Errorf("long line: %+v %v", h, err)
	}
	// A Delivered-To value is capped.
	h, _ = ScanHeaders(strings.NewReader("Delivered-To: "+strings.Repeat("a", 5000)+"\r\n\r\n"), 0)
	if len(h.DeliveredTo) != 1 || len(h.DeliveredTo[0]) > maxDeliveredTo {
		t.Errorf("Delivered-To of %d bytes kept", len(h.DeliveredTo[0]))
	}
}

// FuzzScanHeaders: no panic; reading with a 16-byte buffer gives the
// result of a 4096-byte one (lines split across reads are handled);
// the limit holds; addresses are lower case, one line, capped.
func FuzzScanHeaders(f *testing.F) {
	f.Add("Received: a\r\nDelivered-To: A@B\r\n\r\nbody", 100)
	f.Add("Delivered-To:\r\n\t<x@y>\r\nReceived : z\n\n", 10)
	f.Add(strings.Repeat("Received: "+strings.Repeat("x", 40)+"\r\n", 5), 64)
	f.Add("Delivered-To: "+strings.Repeat("long", 30)+"\r\n continued\r\nX: y", 1000)
	f.Fuzz(func(t *testing.T, msg string, limit int) {
		if limit > 1<<20 {
			limit = 1 << 20
		}
		a, err := scanHeaders(strings.NewReader(msg), limit, 4096)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := scanHeaders(strings.NewReader(msg), limit, 16)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("buffer sizes disagree:\n%+v\n%+v", a, b)
		}
		eff := limit
		if eff <= 0 {
			eff = DefaultHeaderSizeLimit
		}
		if a.Size > eff || a.Size > len(msg) {
			t.Fatalf("Size %d over limit %d / length %d", a.Size, eff, len(msg))
		}
		if a.Received > strings.Count(msg, "\n")+1 {
			t.Fatalf("Received %d", a.Received)
		}
		for _, d := range a.DeliveredTo {
			if strings.Contains(d, "\n") || strings.HasSuffix(d, "\r") || len(d) > maxDeliveredTo || d != asciiLower(d) || d == "" {
				t.Fatalf("Delivered-To %q", d)
			}
		}
	})
}
