package config_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/yubinmail/yubin/config"
)

func Example() {
	schema := config.NewSchema([]config.Param{
		{Name: "myhostname", Default: "localhost"},
		{Name: "mydomain", Default: "localdomain"},
		{Name: "mydestination", Default: "$myhostname, localhost", Kind: config.List},
		{Name: "smtpd_sasl_auth_enable", Default: "no", Kind: config.Bool},
	}, []string{"smtp", "submission"})

	mainCF := `myhostname = mail.example.jp
mydomain = example.jp
mydestination = $myhostname, localhost.$mydomain,
    localhost
submission/smtpd_sasl_auth_enable = yes
`
	c, err := schema.Parse("main.cf", strings.NewReader(mainCF))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.List("mydestination"))
	fmt.Println(c.Bool("smtpd_sasl_auth_enable"), c.Service("submission").Bool("smtpd_sasl_auth_enable"))

	_, err = schema.Parse("main.cf", strings.NewReader("mydestinaton = x\n"))
	fmt.Println(err)
	// Output:
	// [mail.example.jp localhost.example.jp localhost]
	// false true
	// main.cf:1: unknown parameter "mydestinaton" (did you mean "mydestination"?)
}

// A program records what it reads while it builds its servers, then
// warns about the settings that took no effect, as "postconf" warns
// about unused parameters.
func ExampleReadLog() {
	schema := config.NewSchema([]config.Param{
		{Name: "myhostname", Default: "localhost"},
		{Name: "mydomain", Default: "localdomain"},
		{Name: "smtpd_banner", Default: "$myhostname ESMTP"},
		{Name: "broken_sasl_auth_clients", Default: "no", Kind: config.Bool, Compat: true,
			Doc: `the obsolete "AUTH=" EHLO line is never sent`},
	}, []string{"smtp", "imap"})
	c, err := schema.Parse("main.cf", strings.NewReader(`myhostname = mx.example.jp
mydomain = example.jp
broken_sasl_auth_clients = yes
imap/smtpd_banner = never read
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	reads := config.NewReadLog()
	v := c.WithReadLog(reads)
	_ = v.Service("smtp").Get("smtpd_banner") // the SMTP server's banner
	for _, st := range reads.Unused(c) {
		fmt.Printf("warning: %s: %s: unused parameter\n", st.Pos, st.Key())
	}
	// Output:
	// warning: main.cf:2: mydomain: unused parameter
	// warning: main.cf:3: broken_sasl_auth_clients: unused parameter
	// warning: main.cf:4: imap/smtpd_banner: unused parameter
}

// A dovecot.conf is read into sections, as doveconf reads it.
func ExampleParseDovecot() {
	conf := `protocols = imap pop3
service imap-login {
  inet_listener imaps {
    port = 993
  }
}
mail_plugins = quota
mail_plugins = $mail_plugins zlib
`
	root, _, err := config.ParseDovecot("dovecot.conf", strings.NewReader(conf), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	listener := root.Sections[0].Sections[0]
	port, _ := listener.Get("port")
	plugins, _ := root.Get("mail_plugins")
	fmt.Println(root.Sections[0].Name, listener.Name, port.Value, port.Pos)
	fmt.Println(plugins.Value)
	_, _, err = config.ParseDovecot("dovecot.conf", strings.NewReader("service imap {\n"), nil)
	fmt.Println(err)
	// Output:
	// imap-login imaps 993 dovecot.conf:4
	// quota zlib
	// dovecot.conf:1: missing '}' for the section service imap started here
}

// WriteDovecot prints a dovecot.conf tree as doveconf -n would.
func ExampleWriteDovecot() {
	root, _, _ := config.ParseDovecot("dovecot.conf", strings.NewReader("protocols = imap lmtp\nservice lmtp {\n  unix_listener lmtp {\n    mode = 0600\n  }\n}\n"), nil)
	config.WriteDovecot(os.Stdout, root)
	// Output:
	// protocols = imap lmtp
	// service lmtp {
	//   unix_listener lmtp {
	//     mode = 0600
	//   }
	// }
}
