package config_test

import (
	"fmt"
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
