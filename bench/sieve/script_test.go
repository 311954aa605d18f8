package sievebench

import (
	"fmt"
	"strings"
)

// rules50 is the benchmark's script: 50 rules, of which a typical
// message matches few, so that every run evaluates most of them.
func rules50() string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "mailbox", "regex", "body", "imap4flags", "variables", "relational", "comparator-i;ascii-numeric"];` + "\n")
	n := 0
	rule := func(test, action string) {
		n++
		fmt.Fprintf(&b, "# rule %d\nif %s {\n    %s\n}\n", n, test, action)
	}
	for i := 0; i < 13; i++ {
		rule(fmt.Sprintf(`header :contains "subject" "project-%02d"`, i), fmt.Sprintf(`fileinto :create "Projects/p%02d";`, i))
	}
	for i := 0; i < 12; i++ {
		rule(fmt.Sprintf(`address :domain :is "from" "partner%02d.example.com"`, i), fmt.Sprintf(`fileinto :create "Partners/%02d"; stop;`, i))
	}
	for i := 0; i < 12; i++ {
		rule(fmt.Sprintf(`body :contains "keyword%02d"`, i), `addflag "$Keyword";`)
	}
	for i := 0; i < 12; i++ {
		rule(fmt.Sprintf(`header :regex "subject" "^\\[list-%02d\\] .*(release|announce)"`, i), fmt.Sprintf(`fileinto :create "Lists/l%02d"; stop;`, i))
	}
	rule(`header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "8"`, `fileinto :create "Junk"; stop;`)
	for n < 50 {
		rule(`anyof (header :contains "x-mailer" "bulkmailer", address :localpart :is "from" "noreply")`, `addflag "\\Seen";`)
	}
	return b.String()
}

// message is the i-th benchmark message: most fall through all rules,
// some match a project, a list or a body keyword.
func message(i int) string {
	subj := fmt.Sprintf("status update %d", i)
	switch i % 4 {
	case 1:
		subj = fmt.Sprintf("project-%02d weekly notes", i%13)
	case 2:
		subj = fmt.Sprintf("[list-%02d] new release 1.%d", i%12, i)
	}
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 30)
	if i%5 == 0 {
		body += fmt.Sprintf("keyword%02d appears here\r\n", i%12)
	}
	return fmt.Sprintf("From: Sender %d <sender%d@example.org>\r\nTo: bench@localhost\r\nSubject: %s\r\nMessage-ID: <bench-%d@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nX-Spam-Score: %d\r\n\r\n%s", i, i%50, subj, i, i%7, body)
}
