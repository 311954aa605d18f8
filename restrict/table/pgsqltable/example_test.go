package pgsqltable_test

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/restrict/table"
	_ "github.com/yubinmail/yubin/restrict/table/pgsqltable" // registers pgsql:
)

// With the package imported, pgsql: references open as any other table
// (the file is Postfix's pgsql_table(5) configuration).
func Example() {
	t, err := table.Open("pgsql:/etc/postfix/pgsql-virtual-aliases.cf", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, found, err := t.Lookup(context.Background(), "info@example.org")
	fmt.Println(v, found, err)
}
