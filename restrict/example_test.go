package restrict_test

import (
	"context"
	"fmt"
	"net/netip"

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
