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

// Open a table by its Postfix reference, as main.cf names it.
func ExampleOpen() {
	t, err := table.Open("inline:{ postmaster@example.org=alice, abuse@example.org=bob }", nil)
	if err != nil {
		panic(err)
	}
	v, ok, _ := t.Lookup(context.Background(), "abuse@example.org")
	fmt.Println(v, ok)
	// Output: bob true
}

// A program can answer for a table type itself, for one Open
// (Options.Openers) or for all (Register).
func ExampleOptions_openers() {
	o := &table.Options{Openers: map[string]table.Opener{
		"memcache": func(name string, o *table.Options) (table.Table, error) {
			return table.Static("OK"), nil // a real one would dial name
		},
	}}
	t, _ := table.Open("memcache:127.0.0.1:11211", o)
	v, ok, _ := t.Lookup(context.Background(), "anything")
	fmt.Println(v, ok)
	// Output: OK true
}
