package sieve

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRun50Rules runs a 50-rule script (header, address, body and
// regex tests) on a small message: the interpreter's cost per delivery.
func BenchmarkRun50Rules(b *testing.B) {
	var src strings.Builder
	src.WriteString(`require ["fileinto", "mailbox", "regex", "body", "imap4flags"];` + "\n")
	for i := 0; i < 13; i++ {
		fmt.Fprintf(&src, "if header :contains \"subject\" \"project-%02d\" { fileinto :create \"Projects/p%02d\"; }\n", i, i)
	}
	for i := 0; i < 13; i++ {
		fmt.Fprintf(&src, "if address :domain :is \"from\" \"partner%02d.example.com\" { fileinto \"Partners\"; stop; }\n", i)
	}
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&src, "if body :contains \"keyword%02d\" { addflag \"$K\"; }\n", i)
	}
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&src, "if header :regex \"subject\" \"^\\\\[list-%02d\\\\] .*(release|announce)\" { fileinto \"Lists\"; stop; }\n", i)
	}
	s := mustParse(b, src.String())
	raw := []byte("From: Sender <sender@example.org>\r\nTo: bench@localhost\r\nSubject: status update\r\nMessage-ID: <1@example.org>\r\n\r\n" +
		strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 30))
	env := &Env{Envelope: Envelope{From: "sender@example.org", To: "bench@localhost"}}
	b.ReportAllocs()
	for b.Loop() {
		res := s.Run(context.Background(), ParseMessage(raw), env)
		if !res.ImplicitKeep {
			b.Fatal("no keep")
		}
	}
}
