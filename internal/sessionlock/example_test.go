package sessionlock_test

import (
	"context"
	"fmt"
	"os"

	"github.com/yubinmail/yubin/internal/sessionlock"
)

// A POP3 session takes the user's lock for its length.
func Example() {
	dir, _ := os.MkdirTemp("", "sessionlock")
	defer os.RemoveAll(dir)
	l := &sessionlock.Locker{Dir: dir, Format: "sdbox"}
	held, err := l.Lock(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer held.Close()
	_, err = os.Stat(dir + "/" + sessionlock.Name)
	fmt.Println(err == nil)
	// Output: true
}
