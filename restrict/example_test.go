package restrict_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/restrict"
)

func Example() {
	policy, err := restrict.New(restrict.Params{
		"myhostname":                   "mx.example.jp",
		"mydestination":                "$myhostname, example.jp",
		"mynetworks":                   "127.0.0.0/8, 192.168.0.0/24",
		"smtpd_relay_restrictions":     "", // let the recipient list decide, as in older guides
		"smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination",
		"local_recipient_maps":         "",
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, rcpt := range []string{"user@example.jp", "victim@elsewhere.example", `user%elsewhere.example@example.jp`} {
		d, _ := policy.Check(ctx, restrict.StageRecipient, &restrict.Request{
			ClientAddr: netip.MustParseAddr("203.0.113.5"),
			Helo:       "client.example.org",
			Sender:     "someone@example.org",
			Recipient:  rcpt,
		})
		fmt.Println(d)
	}
	// Output:
	// DUNNO
	// 554 5.7.1 <victim@elsewhere.example>: Relay access denied
	// 554 5.7.1 <user%elsewhere.example@example.jp>: Relay access denied
}

// A ContentScan inspects a message MIME part by MIME part, as Postfix's
// cleanup does: here mime_header_checks (which defaults to
// $header_checks) finds the attachment's name in a body part's header.
func ExamplePolicy_NewContentScan() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	checks := filepath.Join(dir, "header_checks")
	rules := `/^Content-(Type|Disposition):.*name="?[^"]*\.exe/ REJECT executable attachment` + "\n"
	if err := os.WriteFile(checks, []byte(rules), 0o644); err != nil {
		panic(err)
	}
	policy, err := restrict.New(restrict.Params{"header_checks": "regexp:" + checks})
	if err != nil {
		panic(err)
	}
	msg := "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--B\r\nContent-Type: application/octet-stream; name=\"report.exe\"\r\n\r\nTVqQAAMAAAAEAAAA\r\n--B--\r\n"
	ctx := context.Background()
	scan := policy.NewContentScan()
	for _, line := range strings.SplitAfter(msg, "\r\n") {
		if _, d, _ := scan.Feed(ctx, []byte(line)); d.Refused() {
			fmt.Println(d, "by", d.Restriction)
			return
		}
	}
	_, d, _ := scan.End(ctx)
	fmt.Println(d)
	// Output:
	// 550 5.7.1 executable attachment by mime_header_checks
}
