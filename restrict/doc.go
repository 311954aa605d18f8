// Package restrict evaluates Postfix's smtpd access policy: the
// restriction lists of main.cf (smtpd_client_restrictions through
// smtpd_end_of_data_restrictions), the lookup tables they name, address
// classes and resolution, content checks and anvil rate limits. It knows
// nothing about sockets: the SMTP server fills a [Request] at each stage and
// acts on the [Decision].
//
//	policy, err := restrict.New(restrict.Params{
//		"myhostname":   "mx.example.jp",
//		"mynetworks":   "127.0.0.0/8 192.168.0.0/24",
//		"smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination",
//	})
//	d, err := policy.Check(ctx, restrict.StageRecipient, &req)
//	// d.String() == "554 5.7.1 <x@other.example>: Relay access denied"
//
// # Implementation notes
//
// Work in progress; see the package's issue.
package restrict
