package mysqltable_test

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/restrict/table"
	_ "github.com/yubinmail/yubin/restrict/table/mysqltable" // registers mysql:
)

// With the package imported, mysql: references open as any other table
// (the file is Postfix's mysql_table(5) configuration).
func Example() {
	t, err := table.Open("mysql:/etc/postfix/mysql-virtual-aliases.cf", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, found, err := t.Lookup(context.Background(), "info@example.org")
	fmt.Println(v, found, err)
}
