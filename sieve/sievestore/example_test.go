package sievestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/sieve/sievestore"
)

func Example() {
	home, _ := os.MkdirTemp("", "home")
	defer os.RemoveAll(home)
	ctx := context.Background()
	// Pigeonhole's "sieve = file:~/sieve;active=~/.dovecot.sieve".
	st := &sievestore.Store{
		Dir:        filepath.Join(home, "sieve"),
		Active:     filepath.Join(home, ".dovecot.sieve"),
		MaxScripts: 10,
	}
	st.Put(ctx, "vacation", []byte("require \"vacation\";\r\nvacation \"Away.\";\r\n"))
	st.SetActive(ctx, "vacation")
	link, _ := os.Readlink(filepath.Join(home, ".dovecot.sieve"))
	fmt.Println(link)
	list, _ := st.List(ctx)
	for _, s := range list {
		fmt.Println(s.Name, s.Size, s.Active)
	}
	// Output:
	// sieve/vacation.sieve
	// vacation 40 true
}
