package tlspolicy_test

import (
	"fmt"

	"github.com/yubinmail/yubin/tlspolicy"
)

// A policy file as https://mta-sts.example.com/.well-known/mta-sts.txt
// serves it, and the MX hosts it allows.
func Example() {
	p, err := tlspolicy.ParseSTSPolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Mode, p.MaxAge)
	for _, mx := range []string{"mail.example.com", "mx1.example.net", "a.b.example.net", "evil.example.org"} {
		fmt.Println(mx, p.MatchMX(mx))
	}
	// Output:
	// enforce 168h0m0s
	// mail.example.com true
	// mx1.example.net true
	// a.b.example.net false
	// evil.example.org false
}
