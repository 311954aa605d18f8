package sieve_test

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/sieve"
)

func Example() {
	script, err := sieve.Parse([]byte(`require ["fileinto", "imap4flags"];
if address :domain "from" "lists.example.org" {
    fileinto :flags "\\Seen" "Lists";
    stop;
}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := sieve.ParseMessage([]byte("From: news@lists.example.org\r\nSubject: hi\r\n\r\nbody\r\n"))
	res := script.Run(context.Background(), msg, &sieve.Env{
		Envelope: sieve.Envelope{From: "news@lists.example.org", To: "me@example.jp"},
	})
	for _, a := range res.Actions {
		fmt.Println(a.Kind, a.Mailbox, a.Flags)
	}
	fmt.Println("implicit keep:", res.ImplicitKeep)

	_, err = sieve.Parse([]byte("require \"fileinto\";\nfileinto \"x\"\n"))
	fmt.Println(err)
	// Output:
	// fileinto Lists [\Seen]
	// implicit keep: false
	// line 3: error: expected end of command ';' or the beginning of a compound block '{', but found end of file.
}
