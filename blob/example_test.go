package blob_test

import (
	"fmt"

	"github.com/yubinmail/yubin/blob"
)

// A body's key is its SHA-256, so the same message delivered to many
// mailboxes is stored once.
func ExampleKey() {
	k := blob.Key([]byte("Subject: hi\r\n\r\nhello\r\n"))
	fmt.Println(len(k), blob.ValidKey(k), blob.ValidKey("../etc/passwd"))
	// Output: 64 true false
}
