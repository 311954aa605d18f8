package msgauth_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/msgauth"
)

func Example() {
	// A fresh Ed25519 key for example.jp, selector "ed".
	key, _, err := msgauth.GenerateKey(msgauth.AlgEd25519)
	if err != nil {
		panic(err)
	}
	txt, _ := msgauth.TXTRecord(key.Public())
	fmt.Println("publish at ed._domainkey.example.jp:", txt[:18]+"...")

	s := &msgauth.Signer{Keys: msgauth.DomainKeys{
		"example.jp": {{Domain: "example.jp", Selector: "ed", Signer: key}},
	}}
	msg := "From: taro@example.jp\r\nTo: hanako@example.org\r\nSubject: hi\r\n\r\nこんにちは\r\n"
	sig, err := s.Sign(context.Background(), strings.NewReader(msg))
	if err != nil {
		panic(err)
	}
	// Prepend sig to the message before it is sent.
	// From, To and Subject are oversigned: listed once more than present.
	fmt.Println(strings.Contains(stripSpace(sig), "h=From:From:Subject:Subject:To:To;"))
	// Output:
	// publish at ed._domainkey.example.jp: v=DKIM1; k=ed25519...
	// true
}

func stripSpace(s string) string {
	return strings.NewReplacer(" ", "", "\t", "", "\r", "", "\n", "").Replace(s)
}

func ExampleARCSealer() {
	// A list host seals what it forwards with its DKIM key.
	key, _, err := msgauth.GenerateKey(msgauth.AlgEd25519)
	if err != nil {
		panic(err)
	}
	sealer := &msgauth.ARCSealer{
		Key:        &msgauth.Key{Domain: "lists.example.jp", Selector: "arc", Signer: key},
		AuthservID: "mx.lists.example.jp",
	}
	msg := "From: taro@example.jp\r\nTo: team@lists.example.jp\r\nSubject: [team] hi\r\n\r\nhello\r\n"
	// res would come from Verifier.Check on the message as it arrived.
	res := &msgauth.Results{
		ARC:   msgauth.ARCResult{Result: msgauth.ResultNone},
		DMARC: msgauth.DMARCResult{Result: msgauth.ResultPass, From: "example.jp"},
	}
	set, err := sealer.Seal(context.Background(), strings.NewReader(msg), res)
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(set, "\r\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "\t") {
			fmt.Println(name)
		}
	}
	// Output:
	// ARC-Seal
	// ARC-Message-Signature
	// ARC-Authentication-Results
}
