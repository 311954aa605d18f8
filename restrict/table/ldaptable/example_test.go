package ldaptable_test

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/restrict/table"
	_ "github.com/yubinmail/yubin/restrict/table/ldaptable" // registers ldap:
)

// With the package imported, ldap: references open as any other table
// (the file is Postfix's ldap_table(5) configuration).
func Example() {
	t, err := table.Open("ldap:/etc/postfix/ldap-virtual-aliases.cf", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, found, err := t.Lookup(context.Background(), "info@example.org")
	fmt.Println(v, found, err)
}
