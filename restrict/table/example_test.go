package table_test

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/restrict/table"
)

func ExampleParseInline() {
	t, err := table.ParseInline("{ example.com=OK, { spam.example = REJECT no spam } }")
	if err != nil {
		panic(err)
	}
	v, found, _ := t.Lookup(context.Background(), "SPAM.example")
	fmt.Println(v, found)
	// Output: REJECT no spam true
}
