package restrict

import (
	"bytes"
	"context"
	"testing"
)

// FuzzContentScan runs the MIME state machine over arbitrary messages
// with WARN-only checks, fed whole and in pieces of a size the input
// chooses. It must not panic; its stack and pending header stay within
// their limits; the text it passes on is the message unchanged except
// for at most the one empty line cleanup inserts after a primary header
// that ends without one; and the pieces change nothing.
func FuzzContentScan(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"), uint8(3))
	f.Add([]byte(bomb(30, "the payload")), uint8(7))
	f.Add([]byte("Content-Type: multipart/digest; boundary=\"D\"\r\n\r\n--D\r\n\r\nSubject: n\r\n\r\nx\r\n--D--\r\n"), uint8(1))
	f.Add([]byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nA: b\r\n c\r\n\r\n"), uint8(0))
	f.Add([]byte("Content-Type: multipart/x; boundary=\"\" ; boundary=(c)\"q\\\"\r\n\tz\"\r\n\r\n--\r\n---\r\n--q\r\nX\r\n"), uint8(5))
	f.Add([]byte("S: \xff\r\nbare\rCR\nLF only\n"+string(bytes.Repeat([]byte("y"), 5000))), uint8(200))
	p := mimePolicy(f, map[string]string{
		"header_checks": "/^Content-Type:/ WARN ct\n/^Subject:/ WARN subject\n",
		"body_checks":   "/^--/ WARN dash\n/x/ WARN x\n",
	}, map[string]string{"mime_nesting_limit": "5", "mime_boundary_length_limit": "16", "line_length_limit": "64",
		"body_checks_size_limit": "100", "strict_8bitmime": "yes", "strict_mime_encoding_domain": "yes"})
	ctx := context.Background()
	s0 := p.NewContentScan()
	f.Fuzz(func(t *testing.T, msg []byte, piece uint8) {
		run := func(n int) ([]byte, Decision) {
			s := p.NewContentScan()
			var out []byte
			var last Decision
			data := msg
			for len(data) > 0 {
				k := len(data)
				if n > 0 && n < k {
					k = n
				}
				o, d, err := s.Feed(ctx, data[:k])
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, o...)
				if d.Action != Dunno {
					last = d
				}
				data = data[k:]
				if len(s.stack) > 5+2 || len(s.hdr) > s.cfg.headerLimit+s.cfg.lineLimit || len(s.rec) > 64 {
					t.Fatalf("stack %d, header %d, record %d", len(s.stack), len(s.hdr), len(s.rec))
				}
				for _, b := range s.stack {
					if len(b.boundary) > 16 {
						t.Fatalf("boundary of %d bytes", len(b.boundary))
					}
				}
			}
			o, d, err := s.End(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != Dunno {
				last = d
			}
			return append(out, o...), last
		}
		whole, dw := run(0)
		pieces, dp := run(int(piece))
		if !bytes.Equal(whole, pieces) || dw.String() != dp.String() {
			t.Fatalf("pieces of %d changed the result:\n%q %v\n%q %v", piece, whole, dw, pieces, dp)
		}
		if dw.Action != Dunno && dw.Action != Reject {
			t.Fatalf("decision %v", dw)
		}
		if dw.Action == Reject && dw.Enhanced != "5.6.0" {
			t.Fatalf("decision %v", dw)
		}
		if bytes.Equal(whole, msg) || len(msg) >= s0.cfg.headerLimit {
			return // (a header past header_size_limit loses its excess)
		}
		// The empty line goes at the start of a line, at or before the
		// first difference.
		i := 0
		for i < len(msg) && i < len(whole) && whole[i] == msg[i] {
			i++
		}
		for j := i; j >= 0; j-- {
			if (j == 0 || msg[j-1] == '\n') && len(whole) == len(msg)+2 && bytes.Equal(whole[:j], msg[:j]) &&
				string(whole[j:j+2]) == "\r\n" && bytes.Equal(whole[j+2:], msg[j:]) {
				return
			}
		}
		t.Fatalf("text changed:\n%q\n%q", msg, whole)
	})
}
