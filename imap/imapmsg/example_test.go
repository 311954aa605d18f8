package imapmsg_test

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/yubinmail/yubin/imap/imapmsg"
)

func Example() {
	// A message as a Maildir stores it, with bare LF line endings.
	raw := "From: Ann <ann@example.org>\nSubject: hello\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nhi there\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n"
	r := strings.NewReader(raw) // a store.MessageReader in a server

	cache := imapmsg.NewCache(0)
	m, err := cache.Load("alice\x00INBOX\x001\x0042", r, r.Size(), imapmsg.Limits{})
	if err != nil {
		panic(err)
	}

	fmt.Print("ENVELOPE ")
	m.WriteEnvelope(os.Stdout)
	fmt.Print("\nBODYSTRUCTURE ")
	m.WriteBodyStructure(os.Stdout, true)

	spec, _ := imapmsg.ParseSectionSpec("1")
	rd, n, _ := m.Section(r, spec, nil)
	b, _ := io.ReadAll(rd)
	fmt.Printf("\nBODY[%s] {%d} %q\n", spec, n, b)

	rd, n, _, _ = m.Binary(r, []int{2}, nil)
	b, _ = io.ReadAll(rd)
	fmt.Printf("BINARY[2] {%d} %q\n", n, b)

	found, _ := m.MatchBody(r, "THERE")
	fmt.Println("BODY THERE:", found)
	// Output:
	// ENVELOPE (NIL "hello" (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) NIL NIL NIL NIL NIL)
	// BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "base64" 4 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)
	// BODY[1] {8} "hi there"
	// BINARY[2] {2} "hi"
	// BODY THERE: true
}
